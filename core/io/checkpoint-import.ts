/**
 * Importing weights trained by the reference implementation (3SHNet / VSE∞ PyTorch checkpoints) into a shnet model.
 *
 * Source: a `torch.save` file in the reference's layout — `{'model': [img_enc.state_dict(), txt_enc.state_dict()],
 * 'epoch', 'best_rsum', 'opt', 'Eiters'}`, keys prefixed `module.` when the encoders were wrapped in DataParallel
 * (the reference always wraps them) — or a safetensors file whose keys are `img_enc.*` / `txt_enc.*` (a converted
 * reference checkpoint) or shnet's own `image.*` / `text.*` names.
 *
 * Keys: shnet's weights carry the reference's `state_dict` names relative to each encoder, so `img_enc.<k>` maps to
 * `image.<k>` and `txt_enc.<k>` to `text.<k>`; the full table is in docs/model.md, "Checkpoint keys". Values are
 * copied in the model's storage layout: each block declares, through `Block.torchLayouts()`, how its stored tensor
 * permutes into PyTorch's (Linear and GRU weights transpose, Conv2d weights permute), and the inverse is applied here.
 * BatchNorm running statistics and `num_batches_tracked` are weights like any other and are copied too.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { tf } from '../backend/tf';
import type { NamedParameter, ParameterOwner } from '../contracts/module';
import { UsageError } from '../errors';
import { Block } from '../nn/block';
import { FLOAT_DTYPES, SafetensorsFile } from './safetensors';
import { readTorchFile, toPlain, TorchTensor } from './torch';

/** One checkpoint tensor in PyTorch layout, read on demand. */
export interface SourceTensor {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly isFloat: boolean;
  /** Row-major values: float32 for floating tensors, numbers for integer ones. */
  read(): Float32Array | number[];
}

/** A checkpoint to import, its keys normalised to `img_enc.*` / `txt_enc.*` (or shnet's names). */
export interface SourceCheckpoint {
  readonly path: string;
  readonly tensors: ReadonlyMap<string, SourceTensor>;
  /** Everything else the file holds (`epoch`, `best_rsum`, `Eiters`, `opt`, or safetensors metadata), as plain JS. */
  readonly info: Readonly<Record<string, unknown>>;
}

/** A model block receiving weights. */
export interface ImportBlock {
  /** shnet's prefix: `image`, `text`, `loss` (the run's checkpoint names). */
  readonly name: string;
  /** The reference's prefix for the same block (`img_enc`, `txt_enc`); none when the reference has no such block. */
  readonly reference?: string;
  readonly owner: ParameterOwner;
}

/** One weight to copy. */
export interface ImportAssignment {
  /** Checkpoint key. */
  readonly key: string;
  /** shnet name (`image.fc.weight`). */
  readonly name: string;
  readonly parameter: NamedParameter;
  readonly source: SourceTensor;
  /** Permutation from the stored tensor to PyTorch's layout (absent when they agree). */
  readonly torchLayout?: readonly number[];
}

/** What an import would do, computed before any weight is touched. */
export interface ImportPlan {
  readonly assignments: readonly ImportAssignment[];
  /** Checkpoint keys shnet deliberately does not hold, with the reason. */
  readonly ignored: readonly { readonly key: string; readonly reason: string }[];
  /** Checkpoint keys that match no model weight. */
  readonly unexpected: readonly string[];
  /** Model weights (shnet names) the checkpoint lacks; they keep their initial values. */
  readonly missing: readonly string[];
  /** Keys present on both sides whose shapes or dtypes disagree. */
  readonly misShaped: readonly { readonly key: string; readonly problem: string }[];
}

/**
 * Reference keys that have no counterpart in shnet's model by design. Ignored only when the model lacks them.
 */
export const REFERENCE_ONLY_KEYS: readonly { readonly pattern: RegExp; readonly reason: string }[] = [
  { pattern: /^txt_enc\.bert\.pooler\./, reason: "BERT's pooler: 3SHNet never reads the pooled [CLS] output, so shnet's BERT has none" },
  { pattern: /^txt_enc\.bert\.embeddings\.position_ids$/, reason: 'position-id buffer 0..max_positions−1, recomputed' },
  { pattern: /^optimizer\./, reason: 'optimizer state is not imported; training restarts its moments' },
];

/** Reads a `.pth` (torch.save) or `.safetensors` checkpoint. */
export function readSourceCheckpoint(path: string): SourceCheckpoint {
  return path.endsWith('.safetensors') ? readSafetensorsSource(path) : readTorchSource(path);
}

function readTorchSource(path: string): SourceCheckpoint {
  const { object } = readTorchFile(path);
  if (!(object instanceof Map)) throw new UsageError(`${path}: the checkpoint is not a dict (found ${describe(object)})`);
  const tensors = new Map<string, SourceTensor>();
  const info: Record<string, unknown> = {};
  const model = object.get('model');
  const addStateDict = (prefix: string, stateDict: unknown, where: string) => {
    if (!(stateDict instanceof Map)) throw new UsageError(`${path}: ${where} is not a state dict (found ${describe(stateDict)})`);
    for (const [key, value] of stateDict) {
      if (value instanceof TorchTensor) tensors.set(normaliseKey(`${prefix}${String(key)}`), torchSource(value));
    }
  };
  if (Array.isArray(model)) {
    // The reference's VSE-family layout: [img_enc state dict, txt_enc state dict].
    if (model.length !== 2) throw new UsageError(`${path}: 'model' holds ${model.length} state dicts; the reference saves [img_enc, txt_enc]`);
    addStateDict('img_enc.', model[0], "'model'[0]");
    addStateDict('txt_enc.', model[1], "'model'[1]");
    for (const [key, value] of object) if (key !== 'model') info[String(key)] = toPlain(value);
  } else if ([...object.values()].some((v) => v instanceof TorchTensor)) {
    addStateDict('', object, 'the top-level dict'); // a bare state dict with prefixed keys
  } else {
    throw new UsageError(`${path}: neither a reference checkpoint ({'model': [img_enc, txt_enc], …}) nor a state dict`);
  }
  return { path, tensors, info };
}

function torchSource(t: TorchTensor): SourceTensor {
  return { dtype: t.dtype, shape: t.shape, isFloat: t.isFloat, read: () => t.data };
}

function readSafetensorsSource(path: string): SourceCheckpoint {
  let file: SafetensorsFile;
  try {
    file = SafetensorsFile.open(path);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const tensors = new Map<string, SourceTensor>();
  // Values are read eagerly: the file is closed before the import runs.
  try {
    for (const entry of file.entries.values()) {
      const isFloat = FLOAT_DTYPES.includes(entry.dtype);
      const data = isFloat ? file.readFloat32(entry.name).slice() : readIntegers(path, entry.dtype, entry.begin, entry.end);
      tensors.set(normaliseKey(entry.name), { dtype: entry.dtype, shape: entry.shape, isFloat, read: () => data });
    }
  } finally {
    file.close();
  }
  return { path, tensors, info: { ...file.metadata } };
}

/** Integer safetensors tensors (`num_batches_tracked` is I64) as numbers. */
function readIntegers(path: string, dtype: string, begin: number, end: number): number[] {
  const bytes = Buffer.alloc(end - begin);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, bytes, 0, bytes.length, begin);
  } finally {
    closeSync(fd);
  }
  const read: Record<string, [number, (i: number) => number]> = {
    I64: [8, (i) => Number(bytes.readBigInt64LE(i))],
    I32: [4, (i) => bytes.readInt32LE(i)],
    I16: [2, (i) => bytes.readInt16LE(i)],
    I8: [1, (i) => bytes.readInt8(i)],
    U8: [1, (i) => bytes.readUInt8(i)],
    BOOL: [1, (i) => bytes.readUInt8(i)],
  };
  const reader = read[dtype];
  if (reader === undefined) throw new UsageError(`${path}: tensors of dtype ${dtype} are not imported`);
  const [size, get] = reader;
  return Array.from({ length: bytes.length / size }, (_, i) => get(i * size));
}

/** `img_enc.module.fc.weight` and `module.img_enc.…` (DataParallel) → `img_enc.fc.weight`. */
function normaliseKey(key: string): string {
  return key.replace(/^module\./, '').replace(/^(img_enc|txt_enc)\.module\./, '$1.');
}

/**
 * Matches checkpoint keys to the blocks' weights and checks shapes and dtypes. Pure: nothing is assigned.
 */
export function planImport(checkpoint: SourceCheckpoint, blocks: readonly ImportBlock[]): ImportPlan {
  const targets = new Map<string, { parameter: NamedParameter; torchLayout?: readonly number[] }>();
  const byReferenceKey = new Map<string, string>(); // reference key → shnet name
  for (const block of blocks) {
    const layouts = block.owner instanceof Block ? block.owner.torchLayouts() : new Map<string, readonly number[]>();
    for (const parameter of block.owner.parameters()) {
      const name = `${block.name}.${parameter.name}`;
      targets.set(name, { parameter, torchLayout: layouts.get(parameter.name) });
      if (block.reference) byReferenceKey.set(`${block.reference}.${parameter.name}`, name);
    }
  }
  const assignments: ImportAssignment[] = [];
  const ignored: { key: string; reason: string }[] = [];
  const unexpected: string[] = [];
  const misShaped: { key: string; problem: string }[] = [];
  const matched = new Set<string>();
  for (const [key, source] of checkpoint.tensors) {
    const name = byReferenceKey.get(key) ?? (targets.has(key) ? key : undefined);
    if (name === undefined) {
      const known = REFERENCE_ONLY_KEYS.find((k) => k.pattern.test(key));
      if (known) ignored.push({ key, reason: known.reason });
      else unexpected.push(key);
      continue;
    }
    if (matched.has(name)) {
      misShaped.push({ key, problem: `a second tensor for ${name}` });
      continue;
    }
    matched.add(name);
    const { parameter, torchLayout } = targets.get(name)!;
    const stored = parameter.variable.shape;
    const wanted = torchLayout ? torchLayout.map((axis) => stored[axis]) : stored;
    const isFloatTarget = parameter.variable.dtype === 'float32';
    if (source.shape.length !== wanted.length || source.shape.some((d, i) => d !== wanted[i])) {
      misShaped.push({ key, problem: `[${source.shape.join(', ')}] in the checkpoint, [${wanted.join(', ')}] in the model (${name})` });
    } else if (source.isFloat !== isFloatTarget) {
      misShaped.push({ key, problem: `${source.dtype} in the checkpoint, ${parameter.variable.dtype} in the model (${name})` });
    } else {
      assignments.push({ key, name, parameter, source, ...(torchLayout ? { torchLayout } : {}) });
    }
  }
  const missing = [...targets.keys()].filter((name) => !matched.has(name));
  return { assignments, ignored, unexpected, missing, misShaped };
}

/** Number of problems `--strict` refuses: unexpected, missing and mis-shaped keys. */
export function problemCount(plan: ImportPlan): number {
  return plan.unexpected.length + plan.missing.length + plan.misShaped.length;
}

/** Copies every planned weight into its variable, converting PyTorch's layout into the stored one. */
export function applyImport(plan: ImportPlan): void {
  for (const { parameter, source, torchLayout } of plan.assignments) {
    const variable = parameter.variable;
    tf.tidy(() => {
      const values = source.read();
      const torch = tf.tensor(values instanceof Float32Array ? values : Int32Array.from(values), [...source.shape], variable.dtype as 'float32' | 'int32');
      variable.assign(torchLayout ? torch.transpose(inversePermutation(torchLayout)) : torch);
    });
  }
}

/**
 * The blocks' weights as the reference's `state_dict` would hold them: reference key (or shnet name, for blocks
 * without a reference prefix) → PyTorch-layout shape and values. The inverse of an import.
 */
export function referenceStateDict(blocks: readonly ImportBlock[]): Map<string, { shape: number[]; data: Float32Array | Int32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array | Int32Array }>();
  for (const block of blocks) {
    const layouts = block.owner instanceof Block ? block.owner.torchLayouts() : new Map<string, readonly number[]>();
    for (const p of block.owner.parameters()) {
      const perm = layouts.get(p.name);
      const torch = tf.tidy(() => (perm ? p.variable.transpose([...perm]) : p.variable.clone()));
      out.set(`${block.reference ?? block.name}.${p.name}`, { shape: torch.shape, data: torch.dataSync() as Float32Array | Int32Array });
      torch.dispose();
    }
  }
  return out;
}

/** The plan as report lines: a summary, then every ignored, unexpected, missing and mis-shaped key by name. */
export function describePlan(plan: ImportPlan, checkpoint: SourceCheckpoint): string[] {
  const lines = [`${checkpoint.path}: ${plan.assignments.length} weights imported, ${plan.ignored.length} ignored, ${problemCount(plan)} problems`];
  const section = (title: string, items: readonly string[]) => {
    if (items.length > 0) lines.push(`${title} (${items.length}):`, ...items.map((item) => `  ${item}`));
  };
  section(
    'ignored (reference-only)',
    plan.ignored.map((i) => `${i.key}: ${i.reason}`),
  );
  section('in the checkpoint, not in the model', plan.unexpected);
  section('in the model, not in the checkpoint (initial values kept)', plan.missing);
  section(
    'shape or dtype mismatch',
    plan.misShaped.map((m) => `${m.key}: ${m.problem}`),
  );
  return lines;
}

/** The permutation that undoes `perm`. */
function inversePermutation(perm: readonly number[]): number[] {
  const out = new Array<number>(perm.length);
  perm.forEach((axis, i) => (out[axis] = i));
  return out;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Map) return 'a dict';
  if (value instanceof TorchTensor) return 'a tensor';
  return `a ${typeof value}`;
}
