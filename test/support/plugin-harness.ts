/**
 * Building plugins in tests the way the builder does: through an inversify container with the node tokens
 * (`PLUGIN_ARGS` with schema defaults filled in, `PLUGIN_PARTS`, `NODE_PATH`) and the run services (`RNG`,
 * `DATA_INFO`) bound, so the `@inject` decorators are exercised too.
 */
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { Container } from 'inversify';
import { tf } from '../../core/backend/tf';
import type { ForwardMode } from '../../core/contracts/module';
import type { Block } from '../../core/nn';
import type { DataInfo } from '../../core/contracts/services';
import type { PluginSpec } from '../../core/registry/plugin-spec';
import { createRng } from '../../core/services/rng';
import { DATA_INFO, NODE_PATH, PLUGIN_ARGS, PLUGIN_PARTS, RNG } from '../../core/tokens';

/** A data set small enough for the cpu backend: C = 5 classes, F = 12, R = 4, 8×8 maps, 3×3 grids. */
export const TINY_INFO: DataInfo = { numClasses: 5, featureDim: 12, regionsPerImage: 4, mapSize: 8, gridSize: 3 };

/** The reference's COCO shapes: C = 133, F = 2048, R = 36, 64×64 maps, 7×7 grids. */
export const COCO_INFO: DataInfo = { numClasses: 133, featureDim: 2048, regionsPerImage: 36, mapSize: 64, gridSize: 7 };

export interface BuildOptions {
  readonly args?: Record<string, unknown>;
  readonly parts?: Record<string, unknown>;
  readonly info?: DataInfo;
  readonly seed?: number;
  readonly path?: string;
}

/** The spec's options with `args` over the schema defaults (what ajv's `useDefaults` gives the builder). */
export function withDefaults<S extends TSchema>(schema: S, args: Record<string, unknown> = {}): unknown {
  const filled = Value.Default(schema, Value.Clone(args));
  if (!Value.Check(schema, filled)) throw new Error(`invalid args ${JSON.stringify(args)}: ${[...Value.Errors(schema, filled)][0]?.message}`);
  return filled;
}

/** Builds the plugin of `spec` through DI, as the recipe builder would. */
export function buildPlugin<T>(spec: PluginSpec, options: BuildOptions = {}): T {
  const container = new Container();
  container.bind(PLUGIN_ARGS).toConstantValue(withDefaults(spec.options, options.args));
  container.bind(PLUGIN_PARTS).toConstantValue(options.parts ?? {});
  container.bind(NODE_PATH).toConstantValue(options.path ?? `model.${spec.kind}`);
  container.bind(RNG).toConstantValue(createRng(options.seed ?? 1));
  container.bind(DATA_INFO).toConstantValue(options.info ?? TINY_INFO);
  container.bind(spec.plugin).toSelf();
  return container.get(spec.plugin) as T;
}

/** A training-mode forward with its own seeded stream. */
export function training(seed = 7): ForwardMode {
  return { training: true, rng: createRng(seed) };
}

/** An evaluation-mode forward. */
export function evaluation(): ForwardMode {
  return { training: false, rng: createRng(0) };
}

/**
 * The owner's weights as a PyTorch `state_dict` would hold them (flat values), through the blocks' own
 * {@link Block.torchLayouts}. Numpy references in tests compute on this.
 */
export function torchStateDict(owner: Block): Record<string, number[]> {
  const layouts = owner.torchLayouts();
  return Object.fromEntries(
    owner.parameters().map((p) => {
      const perm = layouts.get(p.name);
      const torch = tf.tidy(() => (perm ? p.variable.transpose([...perm]) : p.variable.clone()));
      const values = Array.from(torch.dataSync());
      torch.dispose();
      return [p.name, values];
    }),
  );
}

/** Numpy helpers mirroring the reference's modules, on a `w` dict of PyTorch-layout weights (see torchStateDict). */
export const NUMPY_MODULES = `
relu = lambda x: np.maximum(x, 0)
sig = lambda x: 1 / (1 + np.exp(-x))
def P(name, shape=None):
    v = np.array(w[name], np.float64)
    return v if shape is None else v.reshape(shape)
def lin(x, name):
    b = P(name + '.bias') if name + '.bias' in w else 0
    W = P(name + '.weight'); W = W.reshape(len(b) if np.ndim(b) else -1, x.shape[-1])
    return x @ W.T + b
def bn(x, name, train):
    # x [N, C] (tokens) or [N, C, H, W]
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)
    if train: m = x.mean(axes); v = x.var(axes)
    else: m = P(name + '.running_mean'); v = P(name + '.running_var')
    return (x - m.reshape(shape)) / np.sqrt(v.reshape(shape) + 1e-5) * P(name + '.weight').reshape(shape) + P(name + '.bias').reshape(shape)
def mlp(x, name, train):
    B, N, D = x.shape
    h = relu(bn(lin(x.reshape(B * N, D), name + '.layers.0'), name + '.bns.0', train))
    h = lin(h, name + '.layers.1')
    return h.reshape(B, N, -1)
def ln(x, name):
    m = x.mean(-1, keepdims=True); v = x.var(-1, keepdims=True)
    return (x - m) / np.sqrt(v + 1e-5) * P(name + '.weight') + P(name + '.bias')
def pe(n, d):
    div = np.exp(np.arange(0, d, 2, dtype=np.float32) * np.float32(-(math.log(10000.0) / d)))
    ang = np.arange(n, dtype=np.float32)[:, None] * div[None, :]
    out = np.zeros((n, d), np.float32); out[:, 0::2] = np.sin(ang); out[:, 1::2] = np.cos(ang)
    return out.astype(np.float64)
def conv3(x, name):
    # x [B, Cin, H, W], PyTorch weight [Cout, Cin, 3, 3], padding 1
    W = P(name + '.weight'); Cout = W.size // (x.shape[1] * 9); W = W.reshape(Cout, x.shape[1], 3, 3)
    B, C, H, Wd = x.shape; xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))); y = np.zeros((B, Cout, H, Wd))
    for i in range(3):
        for j in range(3):
            y += np.einsum('bchw,oc->bohw', xp[:, :, i:i + H, j:j + Wd], W[:, :, i, j])
    return y + P(name + '.bias').reshape(1, -1, 1, 1)
def softmax(x, axis):
    e = np.exp(x - x.max(axis, keepdims=True)); return e / e.sum(axis, keepdims=True)
def rows_mask(lengths, n):
    return (np.arange(n)[None, :] < np.array(lengths)[:, None]).astype(np.float64)
`;

/** Numpy GRU (PyTorch equations) and GPO on the `w` dict; use after NUMPY_MODULES. */
export const NUMPY_GRU_GPO = `
def gru(seq, prefix, suffix, H):
    I = seq.shape[1]
    wih = P(prefix + 'weight_ih_l0' + suffix, (3 * H, I)); whh = P(prefix + 'weight_hh_l0' + suffix, (3 * H, H))
    bih = P(prefix + 'bias_ih_l0' + suffix); bhh = P(prefix + 'bias_hh_l0' + suffix); h = np.zeros(H); out = []
    for x in seq:
        gi = wih @ x + bih; gh = whh @ h + bhh
        r = sig(gi[:H] + gh[:H]); z = sig(gi[H:2*H] + gh[H:2*H]); n = np.tanh(gi[2*H:] + r * gh[2*H:])
        h = (1 - z) * n + z * h; out.append(h)
    return np.array(out)
def bigru_mean(seq, prefix, H):
    return (gru(seq, prefix, '', H) + gru(seq[::-1], prefix, '_reverse', H)[::-1]) / 2
def gpo_weights(n, prefix):
    s = bigru_mean(pe(n, 32), prefix + 'gru.', 32) @ P(prefix + 'linear.weight', (1, 32)).T
    return softmax(s[:, 0] / 0.1, 0)
def gpo_pool(f, n, prefix):
    return (-np.sort(-f[:n], axis=0) * gpo_weights(n, prefix)[:, None]).sum(0)
def l2n(v):
    return v / (np.sqrt((v * v).sum(-1, keepdims=True)) + 1e-8)
`;
