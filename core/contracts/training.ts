import type { Scalar, Tensor, Tensor2D } from '@tensorflow/tfjs';
import type { NamedParameter, ParameterOwner } from './module';

/** Where training is, passed to the loss (the hinge loss switches from all negatives to the hardest after warm-up). */
export interface TrainingProgress {
  /** 0-based epoch. */
  readonly epoch: number;
  /** 0-based global step. */
  readonly step: number;
}

/** `loss`: image and caption embeddings of one batch (row i of each is a matching pair) → scalar. */
export interface Loss extends Partial<ParameterOwner> {
  /**
   * @param images `[B, D]` L2-normalised
   * @param captions `[B, D]` L2-normalised
   * @returns scalar loss
   */
  compute(images: Tensor2D, captions: Tensor2D, progress: TrainingProgress): Scalar;
  /**
   * The name of the objective in force at `progress`, for a loss that changes objective during training (the hinge
   * loss sums all negatives in warm-up, then takes the hardest). The training loss is logged as
   * `train/loss_<objective>`, so each objective's values get a chart on their own scale; `train/loss` otherwise.
   */
  objective?(progress: TrainingProgress): string;
}

/** Serialisable optimizer state: named slot tensors plus plain numbers. */
export interface OptimizerState {
  readonly step: number;
  readonly slots: ReadonlyMap<string, Tensor>;
}

/** `optimizer`: applies gradients to named parameters. Learning rates per group come from the schedule each step. */
export interface Optimizer {
  /**
   * @param grads gradient per parameter name (same names as `params`)
   * @param learningRates lr per parameter group name (`default`, `text-backbone`, …)
   */
  apply(params: readonly NamedParameter[], grads: ReadonlyMap<string, Tensor>, learningRates: ReadonlyMap<string, number>): void;
  /** Base learning rate for each group, before the schedule's multiplier. */
  baseLearningRates(groups: readonly string[]): Map<string, number>;
  getState(): OptimizerState;
  /** Takes ownership of the given tensors. */
  setState(state: OptimizerState): void;
  dispose(): void;
}

/** `schedule`: lr multiplier as a pure function of progress, so resuming needs no schedule state. */
export interface Schedule {
  multiplier(progress: TrainingProgress): number;
}
