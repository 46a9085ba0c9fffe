import { Type, type Static } from '@sinclair/typebox';
import { BACKEND_REQUESTS } from '../backend/select';
import type { SlotSpec } from '../registry/plugin-spec';

/**
 * Where each plugin kind sits in a recipe. The key path fixes the kind; the node's `type` picks the plugin.
 * Dotted slots (`model.image`) live inside a plain grouping key (`model`).
 */
export const ROOT_SLOTS: Readonly<Record<string, SlotSpec>> = {
  data: { kind: 'dataset', doc: 'the image-caption data set' },
  'model.image': { kind: 'image-encoder', doc: 'the image side: backbone, segmenter, highlighting, aggregation' },
  'model.text': { kind: 'text-encoder', doc: 'the caption side' },
  loss: { kind: 'loss', doc: 'the training objective' },
  optimizer: { kind: 'optimizer', doc: 'how gradients update the weights' },
  schedule: { kind: 'schedule', optional: true, doc: 'learning-rate multiplier over training', defaultNode: { type: 'constant' } },
  evaluator: { kind: 'evaluator', optional: true, doc: 'retrieval protocol for validation and test', defaultNode: { type: 'retrieval' } },
  tracker: { kind: 'tracker', optional: true, doc: 'where the run is recorded (MLflow, local store first)', defaultNode: { type: 'mlflow' } },
  executor: { kind: 'executor', optional: true, doc: 'how sweep trials run' },
};

/**
 * The root layout of a `stage: segmenter` recipe: a data set with label maps and a segmenter with weights, trained
 * on its own (pixel-wise cross-entropy) before a retrieval recipe loads it (`core/train/segmenter-stage.ts`).
 */
export const SEGMENTER_STAGE_SLOTS: Readonly<Record<string, SlotSpec>> = {
  data: ROOT_SLOTS.data,
  segmenter: { kind: 'segmenter', doc: 'the segmentation model this stage trains on ground-truth label maps' },
  optimizer: ROOT_SLOTS.optimizer,
  schedule: ROOT_SLOTS.schedule,
  tracker: ROOT_SLOTS.tracker,
};

/** What a recipe trains: the retrieval model (default), or a segmenter on its own. */
export const STAGES = ['retrieval', 'segmenter'] as const;
export type Stage = (typeof STAGES)[number];

/** The root layout of a recipe of `stage` (absent: retrieval). */
export function rootSlotsFor(stage: Stage | undefined): Readonly<Record<string, SlotSpec>> {
  return stage === 'segmenter' ? SEGMENTER_STAGE_SLOTS : ROOT_SLOTS;
}

/** Training-loop settings (not a plugin: every run has one loop). */
export const TrainSettings = Type.Object(
  {
    epochs: Type.Integer({ minimum: 0, default: 25, description: 'passes over every training caption' }),
    batchSize: Type.Integer({ minimum: 2, default: 128, description: 'captions (with their images) per step' }),
    gradClip: Type.Number({ exclusiveMinimum: 0, default: 2.0, description: 'global L2-norm gradient clipping' }),
    logEvery: Type.Integer({ minimum: 1, default: 10, description: 'steps between training-metric log points' }),
    split: Type.String({ default: 'train', description: 'training split' }),
    validationSplit: Type.String({ default: 'dev', description: 'split validated after every epoch' }),
    validationImages: Type.Integer({ minimum: 1, default: 1000, description: 'first N images of the validation split' }),
  },
  { additionalProperties: false, default: {} },
);

/** Final evaluation settings. */
export const EvaluateSettings = Type.Object(
  {
    split: Type.String({ default: 'test', description: 'split evaluated with the best checkpoint after training' }),
    // Optional without a default, so recipes that do not mention it keep their hash.
    report: Type.Optional(Type.Boolean({ description: 'after training, write report.html (shnet report) into the run folder and log it to the tracked run' })),
  },
  { additionalProperties: false, default: {} },
);

/** Top-level keys that are settings rather than plugin slots. */
export const RootSettings = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, format: 'file-name', description: 'run name (default: the recipe file name); names the run folder' })),
    description: Type.Optional(Type.String({ description: 'one paragraph: what this recipe tests (MLflow run note)' })),
    stage: Type.Optional(
      Type.Union(
        STAGES.map((n) => Type.Literal(n)),
        { description: "what the recipe trains: 'retrieval' (absent) or 'segmenter' (a segmenter alone, on label maps)" },
      ),
    ),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967295, description: 'RNG seed; drawn and written back when absent' })),
    backend: Type.Union(
      BACKEND_REQUESTS.map((n) => Type.Literal(n)),
      { default: 'auto', description: 'TensorFlow.js backend' },
    ),
    experiment: Type.String({ minLength: 1, default: 'shnet', description: 'MLflow experiment name' }),
    output: Type.String({ default: 'runs', description: 'folder under which run folders are created' }),
    vars: Type.Record(Type.String(), Type.Unknown(), { default: {}, description: 'free values for ${vars.x} references (shared widths, sizes)' }),
    train: TrainSettings,
    evaluate: EvaluateSettings,
  },
  { additionalProperties: false },
);

/** A validated recipe's settings (every top-level key that is not a plugin slot), defaults filled in. */
export type RecipeSettings = Static<typeof RootSettings>;

/** Top-level keys that group slots (`model` holds `model.image` and `model.text`). */
export function slotGroups(slots: Readonly<Record<string, SlotSpec>>): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const path of Object.keys(slots)) {
    const parts = path.split('.');
    for (let i = 1; i < parts.length; i++) {
      const group = parts.slice(0, i).join('.');
      groups.set(group, [...(groups.get(group) ?? []), parts[i]]);
    }
  }
  return groups;
}
