/**
 * Reading a checkpoint to import (checkpoint-import.ts): a `torch.save` file or a safetensors file, in any of the
 * layouts reference code leaves behind, with every tensor read only when the import asks for it.
 *
 * Layouts of a `.pth`:
 * - the reference's `{'model': [img_enc.state_dict(), txt_enc.state_dict()], 'epoch', 'best_rsum', 'opt', …}`;
 * - the bare list `[img_enc.state_dict(), txt_enc.state_dict()]` (`torch.save(model.state_dict())` of the
 *   reference's `VSEModel`, whose `state_dict()` returns that list);
 * - a state dict whose keys say the encoder (`img_enc.fc.weight`, `module.txt_enc.…`, or shnet's `image.…`), bare
 *   or under `'model'`;
 * - one encoder's bare state dict (`torch.save(model.img_enc.state_dict())`, keys `fc.weight` or `module.fc.weight`):
 *   the encoder is the one `--only` names, else the one whose weight names the keys match.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { UsageError } from '../errors';
import { FLOAT_DTYPES, SafetensorsFile } from './safetensors';
import { openTorchFile, toPlain, TorchTensorRef, type ZipLimits } from './torch';

/** One checkpoint tensor in PyTorch layout; its values are read by {@link read}, on demand. */
export interface SourceTensor {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly isFloat: boolean;
  /** Row-major values: float32 for floating tensors, numbers for integer ones. */
  read(): Float32Array | number[];
}

/** A checkpoint to import, its keys normalised to `img_enc.*` / `txt_enc.*` (or shnet's names). Close it when done. */
export interface SourceCheckpoint {
  readonly path: string;
  /** How the file was read (`reference checkpoint {'model': [img_enc, txt_enc]}`, …), for the report. */
  readonly layout: string;
  readonly tensors: ReadonlyMap<string, SourceTensor>;
  /** Everything else the file holds (`epoch`, `best_rsum`, `Eiters`, `opt`, or safetensors metadata), as plain JS. */
  readonly info: Readonly<Record<string, unknown>>;
  close(): void;
}

/** An encoder of the model receiving weights: shnet's name, the reference's prefix and its weight names. */
export interface SourceEncoder {
  /** `image` or `text` (shnet's checkpoint prefix, and what `--only` says). */
  readonly name: string;
  /** `img_enc` or `txt_enc`. */
  readonly reference: string;
  /** The encoder's weight names without prefix (`fc.weight`). */
  readonly weights: ReadonlySet<string>;
}

export interface ReadSourceOptions {
  /** The model's encoders: how an unprefixed state dict is attributed. */
  readonly encoders: readonly SourceEncoder[];
  /** The encoder an unprefixed state dict belongs to (`--only`). */
  readonly only?: string;
  /** Bounds on what any entry may inflate to (from the model's size). */
  readonly limits?: ZipLimits;
}

/** A checkpoint that is not there is one line naming it (checked before a model is built for it). */
export function requireCheckpointFile(path: string): void {
  if (!existsSync(path)) throw new UsageError(`${path}: no such file`);
  if (statSync(path).isDirectory()) throw new UsageError(`${path}: is a folder, not a checkpoint file`);
}

/** Reads a `.pth` (torch.save) or `.safetensors` checkpoint; tensors are read when the import asks for them. */
export function readSourceCheckpoint(path: string, options: ReadSourceOptions): SourceCheckpoint {
  requireCheckpointFile(path);
  return path.endsWith('.safetensors') ? readSafetensorsSource(path) : readTorchSource(path, options);
}

function readTorchSource(path: string, options: ReadSourceOptions): SourceCheckpoint {
  const file = openTorchFile(path, options.limits);
  try {
    const { layout, stateDicts, info } = stateDictsOf(file.object, path);
    const tensors = new Map<string, SourceTensor>();
    const notes: string[] = [];
    for (const { prefix, dict, where } of stateDicts) {
      const keys = [...dict.keys()].map(String);
      let encoder = prefix ?? '';
      if (prefix === undefined && !hasEncoderPrefixes(keys)) {
        const owner = attribute(keys, options, path);
        encoder = `${owner.reference}.`;
        notes.push(`of the ${owner.name} encoder${options.only === undefined ? ', by its key names' : ''}`);
      }
      for (const [key, value] of dict) {
        if (!(value instanceof TorchTensorRef)) continue;
        const name = normaliseKey(`${encoder}${stripModule(String(key))}`);
        if (tensors.has(name)) throw new UsageError(`${path}: ${where} holds '${name}' twice (with and without a 'module.' prefix?)`);
        tensors.set(name, torchSource(value));
      }
    }
    return { path, layout: [layout, ...notes].join(' '), tensors, info, close: () => file.close() };
  } catch (error) {
    file.close();
    throw error;
  }
}

type StateDict = Map<unknown, unknown>;

/** The state dicts of a loaded `.pth`, each with the prefix its keys get (`undefined`: the keys say it themselves). */
function stateDictsOf(
  object: unknown,
  path: string,
): { layout: string; stateDicts: { prefix?: string; dict: StateDict; where: string }[]; info: Record<string, unknown> } {
  const pair = (list: unknown[], where: string) => {
    if (list.length !== 2) throw new UsageError(`${path}: ${where} holds ${list.length} state dicts; the reference saves [img_enc, txt_enc]`);
    return list.map((dict, i) => {
      if (!isStateDict(dict)) throw new UsageError(`${path}: ${where}[${i}] is not a state dict (found ${describe(dict)})`);
      return { prefix: i === 0 ? 'img_enc.' : 'txt_enc.', dict, where: `${where}[${i}]` };
    });
  };
  if (Array.isArray(object)) return { layout: 'bare list [img_enc, txt_enc]', stateDicts: pair(object, 'the list'), info: {} };
  if (!(object instanceof Map)) throw new UsageError(`${path}: the checkpoint is neither a dict nor a list of state dicts (found ${describe(object)})`);
  const info: Record<string, unknown> = {};
  const model = object.get('model');
  if (model !== undefined && !(model instanceof TorchTensorRef)) {
    for (const [key, value] of object) if (key !== 'model') info[String(key)] = toPlain(value);
    if (Array.isArray(model)) return { layout: "reference checkpoint {'model': [img_enc, txt_enc]}", stateDicts: pair(model, "'model'"), info };
    if (isStateDict(model)) return { layout: "state dict under 'model'", stateDicts: [{ dict: model, where: "'model'" }], info };
    throw new UsageError(`${path}: 'model' is neither [img_enc, txt_enc] nor a state dict (found ${describe(model)})`);
  }
  if (isStateDict(object)) return { layout: 'bare state dict', stateDicts: [{ dict: object, where: 'the state dict' }], info };
  throw new UsageError(`${path}: neither a reference checkpoint ({'model': [img_enc, txt_enc], …}) nor a state dict (no tensors at its top level)`);
}

const isStateDict = (value: unknown): value is StateDict => value instanceof Map && [...value.values()].some((v) => v instanceof TorchTensorRef);

/** Keys that name their encoder: `img_enc.…`, `txt_enc.…`, or shnet's own `image.…`, `text.…`, `loss.…`. */
function hasEncoderPrefixes(keys: readonly string[]): boolean {
  return keys.some((key) => /^(img_enc|txt_enc|image|text|loss)\./.test(stripModule(key).replace(/^(img_enc|txt_enc)\.module\./, '$1.')));
}

/** The encoder an unprefixed state dict belongs to: `--only`, else the one whose weight names its keys match most. */
function attribute(keys: readonly string[], options: ReadSourceOptions, path: string): SourceEncoder {
  if (options.only !== undefined) {
    const named = options.encoders.find((e) => e.name === options.only);
    if (named) return named;
    throw new UsageError(`--only ${options.only}: the model has no such encoder (${options.encoders.map((e) => e.name).join(', ')})`);
  }
  const scores = options.encoders.map((encoder) => ({ encoder, matched: keys.filter((key) => encoder.weights.has(stripModule(key))).length }));
  scores.sort((a, b) => b.matched - a.matched);
  if (scores.length > 0 && scores[0].matched > 0 && (scores.length === 1 || scores[0].matched > scores[1].matched)) return scores[0].encoder;
  throw new UsageError(
    `${path}: a state dict whose keys name no encoder (no img_enc./txt_enc. prefix) and match ${scores.map((s) => `${s.matched} ${s.encoder.name} weights`).join(' and ')}; say which encoder it holds with --only ${options.encoders.map((e) => e.name).join('|')}`,
  );
}

function torchSource(ref: TorchTensorRef): SourceTensor {
  return { dtype: ref.dtype, shape: ref.shape, isFloat: ref.isFloat, read: () => ref.load().data };
}

function readSafetensorsSource(path: string): SourceCheckpoint {
  let file: SafetensorsFile;
  try {
    file = SafetensorsFile.open(path);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${path}: ${(error as Error).message}`);
  }
  const tensors = new Map<string, SourceTensor>();
  for (const entry of file.entries.values()) {
    const isFloat = FLOAT_DTYPES.includes(entry.dtype);
    const read = () => (isFloat ? file.readFloat32(entry.name).slice() : readIntegers(path, entry.dtype, entry.begin, entry.end));
    tensors.set(normaliseKey(entry.name), { dtype: entry.dtype, shape: entry.shape, isFloat, read });
  }
  return { path, layout: 'safetensors', tensors, info: { ...file.metadata }, close: () => file.close() };
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

const stripModule = (key: string) => key.replace(/^module\./, '');

/** `img_enc.module.fc.weight` and `module.img_enc.…` (DataParallel) → `img_enc.fc.weight`. */
function normaliseKey(key: string): string {
  return stripModule(key).replace(/^(img_enc|txt_enc)\.module\./, '$1.');
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Map) return 'a dict';
  if (value instanceof TorchTensorRef) return 'a tensor';
  return `a ${typeof value}`;
}
