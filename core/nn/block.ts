import * as tf from '../backend/tf';
import type { NamedParameter, ParameterOwner } from '../contracts/module';

/** Options for one weight a block registers. */
export interface ParameterOptions {
  /** False for buffers (BatchNorm running statistics); default true. */
  readonly trainable?: boolean;
  /** Optimizer parameter group; default group when absent. */
  readonly group?: string;
  /**
   * Axis permutation that turns the stored tensor into PyTorch's layout (`[1, 0]` for a Linear weight stored
   * [in, out]); absent when the layouts agree. A checkpoint importer applies its inverse.
   */
  readonly torchLayout?: readonly number[];
}

/**
 * Base of every model block: owns named weights and named child blocks, and lists them with PyTorch
 * `state_dict`-style dotted names (`layers.0.weight`, `bns.1.running_var`). Holds no DI state, so plugin classes
 * may extend it without base-class injection.
 */
export abstract class Block implements ParameterOwner {
  private readonly own: NamedParameter[] = [];
  private readonly layouts = new Map<string, readonly number[]>();
  private readonly children: { readonly name: string; readonly block: ParameterOwner }[] = [];

  /**
   * Registers a weight. Takes ownership of `initial` (it is disposed once copied into the variable).
   * tfjs variable names are global, so the dotted name lives only in {@link NamedParameter.name}.
   */
  protected addParameter(name: string, initial: tf.Tensor, options: ParameterOptions = {}): tf.Variable {
    const trainable = options.trainable ?? true;
    const variable = tf.variable(initial, trainable);
    initial.dispose();
    this.own.push({ name, variable, trainable, ...(options.group ? { group: options.group } : {}) });
    if (options.torchLayout) this.layouts.set(name, options.torchLayout);
    return variable;
  }

  /** Registers a child block whose weights appear under `name.`. Returns the child for chaining. */
  protected addChild<T extends ParameterOwner>(name: string, block: T): T {
    this.children.push({ name, block });
    return block;
  }

  parameters(): NamedParameter[] {
    const out = [...this.own];
    for (const { name, block } of this.children) {
      for (const p of block.parameters()) out.push({ ...p, name: `${name}.${p.name}` });
    }
    return out;
  }

  /**
   * For every weight stored in a layout other than PyTorch's (children included, dotted names): the axis
   * permutation from the stored tensor to the PyTorch `state_dict` tensor.
   */
  torchLayouts(): Map<string, readonly number[]> {
    const out = new Map(this.layouts);
    for (const { name, block } of this.children) {
      if (block instanceof Block) for (const [n, perm] of block.torchLayouts()) out.set(`${name}.${n}`, perm);
    }
    return out;
  }

  dispose(): void {
    for (const p of this.own) p.variable.dispose();
    for (const { block } of this.children) block.dispose();
    this.own.length = 0;
    this.children.length = 0;
  }
}

/** Number of trainable scalars (the figure PyTorch's `sum(p.numel() for p in parameters())` reports). */
export function countTrainable(owner: ParameterOwner): number {
  return owner.parameters().reduce((n, p) => n + (p.trainable ? p.variable.size : 0), 0);
}

/** Trainable variables of an owner, in `parameters()` order (for `tf.variableGrads(f, varList)`). */
export function trainableVariables(owner: ParameterOwner): tf.Variable[] {
  return owner
    .parameters()
    .filter((p) => p.trainable)
    .map((p) => p.variable);
}
