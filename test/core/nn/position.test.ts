import { sinusoidalEncoding } from '../../../core/nn';
import { runPython } from '../../support/python-env';
import { assertClose } from '../../support/tensors';

describe('sinusoidalEncoding', () => {
  it('worked by hand for width 4: PE[p] = [sin p, cos p, sin(p/100), cos(p/100)]', () => {
    // 10000^(−2i/4) is 1 for i = 0 and 1/100 for i = 1.
    const pe = sinusoidalEncoding(3, 4);
    const expected = [0, 1, 0, 1, Math.sin(1), Math.cos(1), Math.sin(0.01), Math.cos(0.01), Math.sin(2), Math.cos(2), Math.sin(0.02), Math.cos(0.02)];
    assertClose(pe, expected, 'PE width 4', 1e-6, 1e-6);
  });

  // Tolerance: float32 exp may differ by one ulp between math libraries (numpy, PyTorch, V8), and the angle p·div
  // multiplies that by p: up to 4095 · ulp(0.1) ≈ 3e-5 on the 64×64 map.
  for (const [length, dim, atol] of [
    [122, 32, 2e-6],
    [4096, 8, 5e-5],
  ]) {
    it(`matches the reference formula in float32 arithmetic (numpy) for ${length}×${dim}`, () => {
      const expected = JSON.parse(
        runPython(
          `import json, math, numpy as np
length, d = ${length}, ${dim}
div = np.exp(np.arange(0, d, 2, dtype=np.float32) * np.float32(-(math.log(10000.0) / d)))
ang = np.arange(length, dtype=np.float32)[:, None] * div[None, :]
pe = np.zeros((length, d), np.float32); pe[:, 0::2] = np.sin(ang); pe[:, 1::2] = np.cos(ang)
print(json.dumps(pe.ravel().tolist()))`,
        ),
      ) as number[];
      assertClose(sinusoidalEncoding(length, dim), expected, `PE ${length}×${dim}`, 0, atol);
    });
  }
});
