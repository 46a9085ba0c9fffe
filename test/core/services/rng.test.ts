import { strict as assert } from 'node:assert';
import { createRng, Xoshiro128 } from '../../../core/services/rng';
import { runPython } from '../../support/python-env';

describe('Xoshiro128 (the run Rng)', () => {
  it('matches an independent Python xoshiro128** seeded through splitmix32', () => {
    const rng = new Xoshiro128(12345);
    const ours = Array.from({ length: 6 }, () => rng.nextUint32());
    const py = runPython(`
M = 0xffffffff
def mix(z):
    z = ((z ^ (z >> 16)) * 0x85ebca6b) & M
    z = ((z ^ (z >> 13)) * 0xc2b2ae35) & M
    return z ^ (z >> 16)
x, s = 12345, []
for _ in range(4):
    x = (x + 0x9e3779b9) & M
    s.append(mix(x))
rotl = lambda v, k: ((v << k) | (v >> (32 - k))) & M
out = []
for _ in range(6):
    out.append((rotl((s[1] * 5) & M, 7) * 9) & M)
    t = (s[1] << 9) & M
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 11)
print(*out)
`);
    assert.deepEqual(ours, py.trim().split(' ').map(Number));
  });

  it('is reproducible from its seed and differs between seeds', () => {
    const a = createRng(3);
    const b = createRng(3);
    const c = createRng(4);
    const seqA = Array.from({ length: 5 }, () => a.next());
    assert.deepEqual(
      Array.from({ length: 5 }, () => b.next()),
      seqA,
    );
    assert.notDeepEqual(
      Array.from({ length: 5 }, () => c.next()),
      seqA,
    );
  });

  it('restore(state()) continues the exact sequence, forks included', () => {
    const rng = createRng(9);
    for (let i = 0; i < 17; i++) rng.next();
    const saved = rng.state();
    const expected = Array.from({ length: 4 }, () => rng.next());
    const fork = rng.fork('dropout').next();
    const other = createRng(1);
    other.restore(saved);
    assert.deepEqual(
      Array.from({ length: 4 }, () => other.next()),
      expected,
    );
    assert.equal(other.fork('dropout').next(), fork);
  });

  it('fork(label) depends on the seed and label only, not on how far the parent has drawn', () => {
    const fresh = createRng(5).fork('init:model.image').next();
    const drawn = createRng(5);
    for (let i = 0; i < 100; i++) drawn.next();
    assert.equal(drawn.fork('init:model.image').next(), fresh);
    assert.notEqual(createRng(5).fork('init:model.text').next(), fresh);
    assert.notEqual(createRng(6).fork('init:model.image').next(), fresh);
  });

  it('next() is uniform in [0, 1) and int(n) in [0, n)', () => {
    const rng = createRng(2);
    let sum = 0;
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 60000; i++) {
      const u = rng.next();
      assert.ok(u >= 0 && u < 1);
      sum += u;
      counts[rng.int(6)]++;
    }
    assert.ok(Math.abs(sum / 60000 - 0.5) < 0.01, `mean ${sum / 60000}`);
    for (const c of counts) assert.ok(Math.abs(c - 10000) < 500, `int(6) counts ${counts}`);
    assert.throws(() => rng.int(0), /positive integer/);
  });

  it('rejects a malformed state', () => {
    assert.throws(() => createRng(1).restore([1, 2, 3]), /five unsigned 32-bit/);
    assert.throws(() => createRng(1).restore([0, 0, 0, 0, 7]), /all zero/);
  });
});
