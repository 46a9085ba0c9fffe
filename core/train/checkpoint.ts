import { tf } from '../backend/tf';
import type { NamedParameter } from '../contracts/module';
import type { Optimizer } from '../contracts/training';
import { RunFailure } from '../errors';
import type { AtomicWriteHooks } from '../atomic-write';
import { readSafetensors, withSafetensors } from '../io/safetensors';
import { writeSafetensors, type HostTensor } from '../io/safetensors-writer';

/** Where training stood when a checkpoint was written; stored as JSON in the safetensors `__metadata__`. */
export interface CheckpointState {
  /** Global steps completed. */
  readonly step: number;
  /** Epochs completed. */
  readonly epoch: number;
  /** The optimizer's own step counter. */
  readonly optimizerStep: number;
  /** The run's random stream state ({@link Rng.state}). */
  readonly rng: readonly number[];
  /** Best validation score so far (rSum for retrieval, mIoU for a segmenter; `null` before any validation). */
  readonly bestScore: number | null;
  /** The text encoder's tokenizer state (a vocabulary), when it has one. */
  readonly tokenizer?: unknown;
  readonly recipeHash: string;
  /** The seed the run was started with (a resumed run continues with it); absent in imported weights. */
  readonly seed?: number;
  /** The tracker's id of the run, so a resumed run logs into the same one. */
  readonly trackerRunId?: string;
  /** Every finished epoch's mean loss and validation report, so a resumed run's evaluation.json has them all. */
  readonly history?: EpochHistory;
}

/** What training recorded per finished epoch. */
export interface EpochHistory {
  readonly epochLosses: number[];
  readonly validation: unknown[];
}

/** `__metadata__` key holding the JSON {@link CheckpointState}; `format` lets later versions read old files. */
const STATE_KEY = 'shnet';
const FORMAT = 'shnet-checkpoint/1';
const OPTIMIZER_PREFIX = 'optimizer.';

/**
 * Writes every weight (under its run name, `image.…`, `text.…`, `loss.…`) and the optimizer's slot tensors
 * (`optimizer.<slot>`) as one safetensors file, atomically: an interrupted write leaves the previous file intact.
 */
export function saveCheckpoint(
  path: string,
  params: readonly NamedParameter[],
  optimizer: Optimizer,
  state: CheckpointState,
  hooks: AtomicWriteHooks = {},
): void {
  const tensors = new Map<string, HostTensor>();
  for (const p of params) tensors.set(p.name, hostTensor(p.variable));
  const optimizerState = optimizer.getState();
  try {
    for (const [slot, t] of optimizerState.slots) tensors.set(`${OPTIMIZER_PREFIX}${slot}`, hostTensor(t));
  } finally {
    tf.dispose([...optimizerState.slots.values()]);
  }
  writeSafetensors(path, tensors, { format: FORMAT, [STATE_KEY]: JSON.stringify({ ...state, optimizerStep: optimizerState.step }) }, hooks);
}

/** Reads only the training state of a checkpoint (no tensors are created). */
export function readCheckpointState(path: string): CheckpointState {
  return parseState(
    withSafetensors(path, (file) => file.metadata),
    path,
  );
}

/**
 * Loads a checkpoint into the given weights (every one must be present with its shape) and, when `optimizer` is
 * given, restores its slots and step. Extra tensors in the file are an error too: they mean a different model.
 */
export function loadCheckpoint(path: string, params: readonly NamedParameter[], optimizer?: Optimizer): CheckpointState {
  const { tensors, metadata } = readSafetensors(path);
  const state = parseState(metadata, path);
  const problems: string[] = [];
  const expected = new Set(params.map((p) => p.name));
  for (const name of tensors.keys()) if (!name.startsWith(OPTIMIZER_PREFIX) && !expected.has(name)) problems.push(`unexpected weight '${name}'`);
  for (const p of params) {
    const t = tensors.get(p.name);
    if (t === undefined) problems.push(`missing weight '${p.name}'`);
    else if (t.shape.join(',') !== p.variable.shape.join(','))
      problems.push(`'${p.name}' is [${t.shape.join(', ')}] in the file, [${p.variable.shape.join(', ')}] in the model`);
  }
  if (problems.length > 0)
    throw new RunFailure(
      `checkpoint ${path} does not fit this model: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}`,
    );
  for (const p of params) {
    const t = tensors.get(p.name)!;
    tf.tidy(() => p.variable.assign(tf.tensor(t.data, [...t.shape], p.variable.dtype as 'float32' | 'int32')));
  }
  if (optimizer) {
    const slots = new Map<string, tf.Tensor>();
    for (const [name, t] of tensors) {
      if (name.startsWith(OPTIMIZER_PREFIX))
        slots.set(name.slice(OPTIMIZER_PREFIX.length), tf.tensor(t.data, [...t.shape], t.dtype === 'F32' ? 'float32' : 'int32'));
    }
    optimizer.setState({ step: state.optimizerStep, slots });
  }
  return state;
}

function hostTensor(t: tf.Tensor): HostTensor {
  if (t.dtype === 'int32') return { dtype: 'I32', shape: t.shape, data: (t.dataSync() as Int32Array).slice() };
  if (t.dtype !== 'float32') throw new Error(`checkpoints hold float32 and int32 tensors, got ${t.dtype}`);
  return { dtype: 'F32', shape: t.shape, data: (t.dataSync() as Float32Array).slice() };
}

function parseState(metadata: Record<string, string>, path: string): CheckpointState {
  if (metadata.format !== FORMAT || metadata[STATE_KEY] === undefined) {
    throw new RunFailure(`${path} is not a shnet checkpoint (metadata format '${metadata.format ?? 'none'}', expected '${FORMAT}')`);
  }
  const state = JSON.parse(metadata[STATE_KEY]) as CheckpointState & { bestRsum?: number | null };
  // Checkpoints written before the segmenter stage shared the training loop called the best score `bestRsum`.
  if (state.bestScore === undefined) return { ...state, bestScore: state.bestRsum ?? null };
  return state;
}
