import { tf } from '../../backend/tf';
import type { NamedParameter } from '../../contracts/module';
import type { Optimizer } from '../../contracts/training';
import { createRng } from '../../services/rng';
import { fail, failIfAny } from '../report';
import { uniform } from '../tiny';
import type { LightDriver } from './driver';

const CHECKS = {
  descends: 'apply: steps lower a quadratic, buffers untouched',
  state: 'state: setState(getState()) continues identically',
  leak: 'apply: no tensor leak per step',
  dispose: 'dispose: releases every tensor',
} as const;

/** Weights of f(w) = Σ w² in two groups (default, `text-backbone`) and one frozen buffer. */
function parameters(seed: number): NamedParameter[] {
  const rng = createRng(seed);
  const make = (n: number): tf.Variable => tf.tidy(() => tf.variable(tf.tensor1d(uniform(n, rng, 0.5, 1)), true));
  return [
    { name: 'w', variable: make(6), trainable: true },
    { name: 'backbone.w', variable: make(4), trainable: true, group: 'text-backbone' },
    { name: 'bn.running_mean', variable: make(3), trainable: false },
  ];
}

function step(optimizer: Optimizer, params: readonly NamedParameter[]): void {
  const groups = [...new Set(params.map((p) => p.group ?? 'default'))];
  const lrs = optimizer.baseLearningRates(groups);
  const grads = new Map(params.filter((p) => p.trainable).map((p) => [p.name, tf.tidy(() => p.variable.mul(2))]));
  try {
    optimizer.apply(params, grads, lrs);
  } finally {
    tf.dispose([...grads.values()]);
  }
}

const values = (params: readonly NamedParameter[]) => params.map((p) => Array.from(p.variable.dataSync()));
const objective = (params: readonly NamedParameter[], name: string) => {
  const p = params.find((q) => q.name === name)!;
  return tf.tidy(() => p.variable.square().sum().dataSync()[0]);
};

/**
 * `optimizer`: on f(w) = Σ w² in two parameter groups plus a frozen buffer, steps lower f in every group and leave
 * the buffer alone; restoring `getState()` into a fresh instance (built the same way) continues exactly; steps leak
 * nothing.
 */
export const optimizerDriver: LightDriver = {
  type: 'light',
  kind: 'optimizer',
  checks: Object.values(CHECKS),
  async run(built, recorder, { seed, rebuild }, tensorsBeforeBuild) {
    const optimizer = built as Optimizer;
    const params = parameters(seed);
    await recorder.check(CHECKS.descends, () => {
      const lrs = optimizer.baseLearningRates(['default', 'text-backbone']);
      failIfAny([...lrs].filter(([, lr]) => !(Number.isFinite(lr) && lr > 0)).map(([g, lr]) => `base lr of group '${g}' is ${lr}`));
      const before = values(params);
      const f0 = ['w', 'backbone.w'].map((n) => objective(params, n));
      for (let i = 0; i < 3; i++) step(optimizer, params);
      const f1 = ['w', 'backbone.w'].map((n) => objective(params, n));
      const problems = ['w', 'backbone.w'].flatMap((n, i) => (f1[i] < f0[i] ? [] : [`${n}: Σw² went ${f0[i]} → ${f1[i]}`]));
      if (values(params)[2].join() !== before[2].join()) problems.push('the non-trainable buffer changed');
      failIfAny(problems);
      return `Σw² ${f0.map((f, i) => `${f.toFixed(3)} → ${f1[i].toFixed(3)}`).join(', ')}`;
    });
    await recorder.check(CHECKS.state, () => {
      const copy = rebuild() as Optimizer;
      const twin = parameters(seed);
      try {
        twin.forEach((p, i) => p.variable.assign(params[i].variable));
        copy.setState(optimizer.getState());
        step(optimizer, params);
        step(copy, twin);
        const [a, b] = [values(params), values(twin)];
        const differs = a.flatMap((row, i) => (row.join() === b[i].join() ? [] : [params[i].name]));
        if (differs.length > 0) fail(`after restoring the state, the next step differs for ${differs.join(', ')}`);
      } finally {
        copy.dispose();
        twin.forEach((p) => p.variable.dispose());
      }
    });
    await recorder.check(CHECKS.leak, () => {
      step(optimizer, params);
      const before = tf.memory().numTensors;
      step(optimizer, params);
      const after = tf.memory().numTensors;
      if (after !== before) fail(`a step changed the tensor count ${before} → ${after}`);
    });
    await recorder.check(CHECKS.dispose, () => {
      params.forEach((p) => p.variable.dispose());
      optimizer.dispose();
      const left = tf.memory().numTensors - tensorsBeforeBuild;
      if (left !== 0) fail(`${left} tensors still held after dispose()`);
    });
  },
};
