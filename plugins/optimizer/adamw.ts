import {
  definePlugin,
  inject,
  injectable,
  type NamedParameter,
  type Optimizer,
  type OptimizerState,
  PLUGIN_ARGS,
  type Static,
  tf,
  Type,
  UsageError,
} from 'shnet';

export const adamwOptions = Type.Object(
  {
    lr: Type.Number({ exclusiveMinimum: 0, default: 5e-4, description: 'Base learning rate of the default group.' }),
    weightDecay: Type.Number({ minimum: 0, default: 1e-4, description: 'Decoupled weight decay (all groups).' }),
    beta1: Type.Number({ minimum: 0, exclusiveMaximum: 1, default: 0.9 }),
    beta2: Type.Number({ minimum: 0, exclusiveMaximum: 1, default: 0.999 }),
    eps: Type.Number({ exclusiveMinimum: 0, default: 1e-8 }),
    groupLrFactors: Type.Record(Type.String(), Type.Number({ minimum: 0 }), {
      default: { 'text-backbone': 0.1 },
      description: 'Base lr multiplier per parameter group (the reference fine-tunes BERT at 0.1×).',
    }),
  },
  { additionalProperties: false },
);

/** Slot names of one parameter in {@link OptimizerState}. */
const slotNames = (param: string) => ({ m: `${param}.exp_avg`, v: `${param}.exp_avg_sq`, step: `${param}.step` });

/**
 * AdamW exactly as `torch.optim.AdamW`: per parameter with gradient g at its step t,
 *   p ← p − lr·wd·p;  m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;
 *   p ← p − lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + eps).
 * Each parameter keeps its own step count (a parameter without a gradient in a step is skipped, as PyTorch skips
 * parameters whose `.grad` is None). Gradient clipping is the engine's job, before `apply`.
 *
 * State slots per parameter: `<name>.exp_avg`, `<name>.exp_avg_sq` and `<name>.step` (a scalar).
 */
@injectable()
export class AdamW implements Optimizer {
  private readonly moments = new Map<string, { m: tf.Variable; v: tf.Variable; step: number }>();
  private steps = 0;

  constructor(@inject(PLUGIN_ARGS) private readonly args: Static<typeof adamwOptions>) {}

  baseLearningRates(groups: readonly string[]): Map<string, number> {
    return new Map(groups.map((g) => [g, this.args.lr * (this.args.groupLrFactors[g] ?? 1)]));
  }

  apply(params: readonly NamedParameter[], grads: ReadonlyMap<string, tf.Tensor>, learningRates: ReadonlyMap<string, number>): void {
    const { beta1: b1, beta2: b2, eps, weightDecay: wd } = this.args;
    for (const p of params) {
      const g = grads.get(p.name);
      if (!p.trainable || g == null) continue;
      const group = p.group ?? 'default';
      const lr = learningRates.get(group);
      if (lr == null) throw new UsageError(`adamw: no learning rate for parameter group '${group}' (of '${p.name}')`);
      const slot = this.slotFor(p);
      slot.step += 1;
      const t = slot.step;
      tf.tidy(() => {
        const m = slot.m.mul(b1).add(g.mul(1 - b1));
        const v = slot.v.mul(b2).add(g.square().mul(1 - b2));
        slot.m.assign(m);
        slot.v.assign(v);
        const stepSize = lr / (1 - Math.pow(b1, t));
        const denom = v
          .sqrt()
          .div(Math.sqrt(1 - Math.pow(b2, t)))
          .add(eps); // PyTorch's operation order
        const decayed = wd > 0 ? p.variable.mul(1 - lr * wd) : p.variable;
        p.variable.assign(decayed.sub(m.div(denom).mul(stepSize)));
      });
    }
    this.steps += 1;
  }

  getState(): OptimizerState {
    const slots = new Map<string, tf.Tensor>();
    for (const [name, s] of this.moments) {
      const n = slotNames(name);
      slots.set(n.m, s.m.clone());
      slots.set(n.v, s.v.clone());
      slots.set(n.step, tf.scalar(s.step));
    }
    return { step: this.steps, slots };
  }

  setState(state: OptimizerState): void {
    this.disposeSlots();
    this.steps = state.step;
    for (const [key, tensor] of state.slots) {
      if (!key.endsWith('.exp_avg')) continue;
      const name = key.slice(0, -'.exp_avg'.length);
      const n = slotNames(name);
      const v = state.slots.get(n.v);
      const step = state.slots.get(n.step);
      if (v == null || step == null) throw new UsageError(`adamw: optimizer state for '${name}' lacks ${n.v} or ${n.step}`);
      this.moments.set(name, { m: tf.variable(tensor, false), v: tf.variable(v, false), step: step.dataSync()[0] });
    }
    for (const t of state.slots.values()) t.dispose();
  }

  dispose(): void {
    this.disposeSlots();
  }

  private slotFor(p: NamedParameter): { m: tf.Variable; v: tf.Variable; step: number } {
    let slot = this.moments.get(p.name);
    if (slot == null) {
      slot = { m: zeroSlot(p.variable), v: zeroSlot(p.variable), step: 0 };
      this.moments.set(p.name, slot);
    }
    return slot;
  }

  private disposeSlots(): void {
    for (const s of this.moments.values()) {
      s.m.dispose();
      s.v.dispose();
    }
    this.moments.clear();
  }
}

function zeroSlot(like: tf.Tensor): tf.Variable {
  const zeros = tf.zerosLike(like);
  const slot = tf.variable(zeros, false);
  zeros.dispose();
  return slot;
}

export const adamwSpec = definePlugin({
  kind: 'optimizer',
  name: 'adamw',
  doc: 'AdamW as PyTorch (decoupled weight decay, bias correction) with per-group lr factors.',
  version: '1.0.0',
  options: adamwOptions,
  plugin: AdamW,
});
