import type { Variable } from '@tensorflow/tfjs';
import type { Rng } from './services';

/**
 * One weight of a model block. Names follow the reference implementation's PyTorch `state_dict` keys relative to
 * the block (`fc.weight`, `mlp.bns.0.running_mean`) so checkpoints map one-to-one.
 */
export interface NamedParameter {
  readonly name: string;
  readonly variable: Variable;
  /** False for buffers such as BatchNorm running statistics. */
  readonly trainable: boolean;
  /** Optimizer parameter group (`text-backbone` gets the text-backbone lr factor); default group when absent. */
  readonly group?: string;
  /**
   * True for a weight kept only because the reference's `state_dict` (and parameter count) has it, while its
   * forward pass never uses it: it gets no gradient by design, and the conformance suite does not ask it to.
   */
  readonly unusedInForward?: boolean;
}

/** Whether a forward pass trains (dropout, batch statistics, augmentation) and the random stream it draws from. */
export interface ForwardMode {
  readonly training: boolean;
  readonly rng: Rng;
}

/** Anything that owns weights. */
export interface ParameterOwner {
  /** Every weight this block owns, children included, with names relative to this block. */
  parameters(): NamedParameter[];
  /** Releases every tensor this block owns. */
  dispose(): void;
}
