/**
 * The checks every model plugin gets, whatever its kind (timm's forward/backward over every registered model):
 * contract shapes, finite outputs, deterministic evaluation, a gradient for every trainable parameter, no tensor
 * leak per training step, unique parameter names, and a `dispose()` that releases everything.
 */
import { tf } from '../backend/tf';
import type { ForwardMode, ParameterOwner } from '../contracts/module';
import { createRng } from '../services/rng';
import { type CheckRecorder, fail, failIfAny } from './report';
import { uniform } from './tiny';

/** Named outputs of one forward pass. */
export type Outputs = Readonly<Record<string, tf.Tensor>>;

/** What a model-kind driver hands to the shared checks. */
export interface ModuleSubject {
  /** The built plugin (a loss may own no weights). */
  readonly owner: Partial<ParameterOwner>;
  /** One forward pass on the driver's inputs. */
  forward(mode: ForwardMode): Outputs;
  /** Contract problems of the outputs beyond finiteness (shapes, value ranges), each naming the output. */
  contract(outputs: Outputs, mode: ForwardMode): string[];
  /** Outputs that carry gradient: the random projection whose gradients are checked sums over these. */
  readonly differentiable: readonly string[];
  /** Trainable input variables that must receive gradient too (`input regions`), by name. */
  readonly gradientInputs?: ReadonlyMap<string, tf.Variable>;
  /** The output that must be L2-normalised per row, when the contract says so. */
  readonly normalised?: string;
  /** Evaluation-mode outputs whose valid rows must not change when only the padding of the inputs changes. */
  paddingProbe?(): { readonly original: tf.Tensor; readonly repadded: tf.Tensor; readonly lengths: readonly number[] };
  /** Tensors the outputs may share with the inputs (not disposed with the outputs). */
  readonly inputTensors: readonly tf.Tensor[];
  /** Releases the driver's inputs. */
  disposeInputs(): void;
}

/** Names of the shared checks, in order; drivers without a padding probe or a normalised output skip those rows. */
export const MODULE_CHECKS = {
  shapes: 'output: contract shapes and values',
  finite: 'output: finite in training and evaluation',
  normalised: 'output: L2-normalised rows',
  deterministic: 'evaluation: deterministic',
  padding: 'evaluation: padding does not change valid rows',
  gradients: 'training: every trainable parameter gets a gradient',
  leak: 'leak: none per training step or evaluation pass',
  names: 'parameters: unique names',
  dispose: 'dispose: releases every tensor',
} as const;

/** The shared check names a subject with these features runs. */
export function moduleCheckNames(features: { normalised: boolean; padding: boolean }): string[] {
  return Object.entries(MODULE_CHECKS)
    .filter(([key]) => (key !== 'normalised' || features.normalised) && (key !== 'padding' || features.padding))
    .map(([, name]) => name);
}

const training = (seed: number): ForwardMode => ({ training: true, rng: createRng(seed) });
const evaluation = (seed: number): ForwardMode => ({ training: false, rng: createRng(seed) });

function disposeOutputs(subject: ModuleSubject, outputs: Outputs): void {
  const owned = new Set(subject.inputTensors);
  for (const t of Object.values(outputs)) if (!owned.has(t) && !t.isDisposed) t.dispose();
}

/** Σ output ⊙ R over the differentiable outputs, R uniform in [−1, 1) (seeded): a scalar every output entry reaches. */
function randomProjection(subject: ModuleSubject, outputs: Outputs, seed: number): tf.Scalar {
  const rng = createRng(seed);
  const terms = subject.differentiable.map((name) => {
    const out = outputs[name].toFloat();
    return out.mul(tf.tensor(uniform(out.size, rng), out.shape)).sum();
  });
  return (terms.length === 1 ? terms[0] : tf.addN(terms)) as tf.Scalar;
}

/** Weights that must get a gradient (those declared `unusedInForward` are exempt), then the gradient inputs. */
function trainableOf(subject: ModuleSubject): { name: string; variable: tf.Variable }[] {
  const params = (subject.owner.parameters?.() ?? []).filter((p) => p.trainable && !p.unusedInForward).map((p) => ({ name: p.name, variable: p.variable }));
  const inputs = [...(subject.gradientInputs ?? [])].map(([name, variable]) => ({ name, variable }));
  return [...params, ...inputs];
}

/** Forward in training mode, gradients of the projection, an SGD update of the weights (not the inputs). */
function trainingStep(subject: ModuleSubject, seed: number): Map<string, number> {
  const targets = trainableOf(subject);
  const nameOf = new Map(targets.map((t) => [t.variable.name, t.name]));
  const inputs = new Set(subject.gradientInputs?.values() ?? []);
  const { value, grads } = tf.variableGrads(
    () => tf.tidy(() => randomProjection(subject, subject.forward(training(seed)), seed + 1)),
    targets.map((t) => t.variable),
  );
  try {
    const magnitudes = new Map<string, number>();
    for (const [variableName, g] of Object.entries(grads))
      magnitudes.set(
        nameOf.get(variableName)!,
        tf.tidy(() => g.abs().max().dataSync()[0]),
      );
    tf.tidy(() => {
      for (const t of targets) {
        const g = grads[t.variable.name];
        if (g && !inputs.has(t.variable)) t.variable.assign(t.variable.sub(g.mul(1e-3)));
      }
    });
    return magnitudes;
  } finally {
    value.dispose();
    tf.dispose(Object.values(grads));
  }
}

function read(outputs: Outputs, names: readonly string[]): number[][] {
  return names.map((n) => Array.from(outputs[n].dataSync()));
}

/**
 * Runs the shared checks on `subject`. `tensorsBeforeBuild` is `tf.memory().numTensors` taken before the plugin was
 * built: after `dispose()` and the inputs' release the count must be back there.
 */
export async function runModuleChecks(recorder: CheckRecorder, subject: ModuleSubject, tensorsBeforeBuild: number, seed: number): Promise<void> {
  const withOutputs = <T>(mode: ForwardMode, use: (outputs: Outputs) => T): T => {
    const outputs = subject.forward(mode);
    try {
      return use(outputs);
    } finally {
      disposeOutputs(subject, outputs);
    }
  };

  await recorder.check(MODULE_CHECKS.shapes, () => {
    const problems = [
      ...withOutputs(evaluation(seed), (o) => subject.contract(o, evaluation(seed)).map((p) => `evaluation: ${p}`)),
      ...withOutputs(training(seed), (o) => subject.contract(o, training(seed)).map((p) => `training: ${p}`)),
    ];
    failIfAny(problems);
    return withOutputs(evaluation(seed), (o) =>
      Object.entries(o)
        .map(([n, t]) => `${n} [${t.shape.join(', ')}]`)
        .join(', '),
    );
  });

  await recorder.check(MODULE_CHECKS.finite, () => {
    const problems: string[] = [];
    for (const mode of [training(seed), evaluation(seed)]) {
      withOutputs(mode, (outputs) => {
        for (const [name, t] of Object.entries(outputs)) {
          const bad = Array.from(t.dataSync()).findIndex((x) => !Number.isFinite(x));
          if (bad >= 0) problems.push(`${mode.training ? 'training' : 'evaluation'} ${name}[${bad}] is not finite`);
        }
      });
    }
    failIfAny(problems);
  });

  if (subject.normalised) {
    const name = subject.normalised;
    await recorder.check(MODULE_CHECKS.normalised, () => {
      const norms = withOutputs(evaluation(seed), (o) => tf.tidy(() => Array.from(o[name].norm(2, -1).dataSync())));
      const bad = norms.map((n, i) => [i, n]).filter(([, n]) => !(Math.abs(n - 1) <= 1e-4));
      failIfAny(
        bad.map(([i, n]) => `${name} row ${i} has norm ${n}`),
        'row',
      );
      return `${norms.length} rows of norm 1 ± 1e-4`;
    });
  }

  await recorder.check(MODULE_CHECKS.deterministic, () => {
    const names = Object.keys(withOutputs(evaluation(seed), (o) => o));
    const first = withOutputs(evaluation(seed), (o) => read(o, names));
    // Another random stream on purpose: evaluation must not draw from it.
    const second = withOutputs(evaluation(seed + 100), (o) => read(o, names));
    const problems = names.flatMap((n, k) => {
      const i = first[k].findIndex((x, j) => x !== second[k][j]);
      return first[k].length !== second[k].length || i >= 0 ? [`${n} differs between two evaluation passes (element ${i})`] : [];
    });
    failIfAny(problems);
  });

  if (subject.paddingProbe) {
    const probe = subject.paddingProbe;
    await recorder.check(MODULE_CHECKS.padding, () => {
      const { original, repadded, lengths } = probe();
      try {
        // Rank 3 ([B, N, D]): the first n rows of each item are valid; rank 2 ([B, D]): the whole row is.
        const [a, b] = [original.arraySync() as number[][] | number[][][], repadded.arraySync() as number[][] | number[][][]];
        const valid = (x: number[][] | number[][][], i: number): number[] =>
          original.rank === 3 ? (x[i] as number[][]).slice(0, lengths[i]).flat() : (x[i] as number[]);
        const problems = lengths.flatMap((_, i) => {
          const [before, after] = [valid(a, i), valid(b, i)];
          const j = before.findIndex((v, k) => !(Math.abs(v - after[k]) <= 1e-5 * (1 + Math.abs(v))));
          return j >= 0 ? [`item ${i} changed (${before[j]} → ${after[j]}) when only its padded entries changed`] : [];
        });
        failIfAny(problems);
      } finally {
        original.dispose();
        repadded.dispose();
      }
    });
  }

  await recorder.check(MODULE_CHECKS.gradients, () => {
    const targets = trainableOf(subject);
    if (targets.length === 0) return 'no trainable parameters';
    let magnitudes: Map<string, number>;
    try {
      magnitudes = trainingStep(subject, seed);
    } catch (error) {
      if (error instanceof Error && /connection between any variable/.test(error.message)) magnitudes = new Map();
      else throw error;
    }
    const none = targets.map((t) => t.name).filter((n) => !((magnitudes.get(n) ?? 0) > 0));
    if (none.length > 0) fail(`${none.length} of ${targets.length} get no gradient: ${none.join(', ')}`);
    return `${targets.length} trainable (parameters and inputs), all with a non-zero gradient`;
  });

  await recorder.check(MODULE_CHECKS.leak, () => {
    const counts = () => ({ tensors: tf.memory().numTensors, buffers: tf.backend().numDataIds() });
    // A step is a training step (inside variableGrads, which tidies the forward pass) and an evaluation pass outside
    // any tidy, as evaluation runs: a forward that leaks shows up in the second.
    const step = () => {
      if (trainableOf(subject).length > 0) trainingStep(subject, seed);
      else withOutputs(training(seed), (o) => tf.tidy(() => randomProjection(subject, o, seed + 1)).dispose());
      withOutputs(evaluation(seed), () => undefined);
    };
    step(); // warm-up: lazily built state (vocabularies, per-length caches) may persist
    const before = counts();
    step();
    const after = counts();
    if (after.tensors !== before.tensors || after.buffers !== before.buffers) {
      fail(`a training step and an evaluation pass changed ${JSON.stringify(before)} → ${JSON.stringify(after)} on ${tf.getBackend()}`);
    }
    return `${before.tensors} tensors before and after`;
  });

  await recorder.check(MODULE_CHECKS.names, () => {
    const names = (subject.owner.parameters?.() ?? []).map((p) => p.name);
    const repeated = [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
    failIfAny(repeated.map((n) => `'${n}' is listed more than once`));
    const unnamed = names.filter((n) => n.length === 0);
    if (unnamed.length > 0) fail(`${unnamed.length} parameters have an empty name`);
    return `${names.length} parameters`;
  });

  await recorder.check(MODULE_CHECKS.dispose, () => {
    subject.disposeInputs();
    subject.owner.dispose?.();
    const left = tf.memory().numTensors - tensorsBeforeBuild;
    if (left !== 0) fail(`${left} tensor${left === 1 ? '' : 's'} still held after dispose() (the plugin owns its weights, caches and the parts it was given)`);
  });
}
