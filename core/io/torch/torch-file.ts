/**
 * Reading `torch.save` files (the zip format of PyTorch ≥ 1.6) without Python: `<archive>/data.pkl` is run by
 * shnet's safe pickle machine with an allow-list of the globals checkpoints use, and every tensor is gathered from
 * its storage `<archive>/data/<key>`.
 *
 * The allow-list ({@link ALLOWED_GLOBALS}) covers tensors and parameters, storages of every dtype shnet reads,
 * `OrderedDict` (state dicts), `torch.device`, `argparse.Namespace` (the reference saves its options as `opt`) and
 * numpy scalars (a metric saved as `np.float64`). Any other global is refused by name before anything runs.
 */
import { UsageError } from '../../errors';
import { PickleError, unpickle, type Buildable, type PickleGlobal } from './pickle';
import { FLOAT_TORCH_DTYPES, TORCH_ELEMENT_BYTES, TorchTensor, materialise, type TorchDtype } from './tensor';
import { ZipReader, type ZipLimits } from './zip';

/**
 * Largest `data.pkl` read. The pickle holds only the structure (keys, shapes, storage names, a few numbers): a BERT-
 * large state dict pickles to well under 1 MB, so 64 MB is generous and still refuses a pickle made to fill memory.
 */
const MAX_PICKLE_BYTES = 64 * 1024 * 1024;

/** A storage named by a persistent id: `('storage', storage_type, key, location, numel)`. */
interface StorageRef {
  readonly dtype: TorchDtype;
  readonly key: string;
  readonly numel: number;
}

/** A `torch.XStorage` class named in a persistent id. */
interface StorageType extends PickleGlobal {
  readonly storageDtype: TorchDtype;
}

const STORAGE_TYPES: Readonly<Record<string, TorchDtype>> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

/** numpy dtype codes of the scalars a checkpoint may hold (metrics, counters). */
const NUMPY_SCALARS: Readonly<Record<string, { bytes: number; read: (v: DataView, littleEndian: boolean) => number }>> = {
  f8: { bytes: 8, read: (v, le) => v.getFloat64(0, le) },
  f4: { bytes: 4, read: (v, le) => v.getFloat32(0, le) },
  i8: { bytes: 8, read: (v, le) => Number(v.getBigInt64(0, le)) },
  i4: { bytes: 4, read: (v, le) => v.getInt32(0, le) },
  u8: { bytes: 8, read: (v, le) => Number(v.getBigUint64(0, le)) },
  b1: { bytes: 1, read: (v) => v.getUint8(0) },
};

/** The content of a `torch.save` file. */
export interface TorchFile {
  /** The saved object, with dicts as `Map`s and tensors as {@link TorchTensor}s. */
  readonly object: unknown;
  /** The archive's top folder (`archive`, or the saved file's base name in older PyTorch versions). */
  readonly archive: string;
}

/** A checkpoint tensor not read yet: its dtype and shape, from the pickle; {@link load} reads its storage. */
export class TorchTensorRef {
  constructor(
    readonly dtype: TorchDtype,
    readonly shape: readonly number[],
    private readonly gatherFrom: () => TorchTensor,
  ) {}

  get isFloat(): boolean {
    return FLOAT_TORCH_DTYPES.includes(this.dtype);
  }

  /** Reads the tensor's bytes from its storage (checked, bounded by the file's {@link ZipLimits}). */
  load(): TorchTensor {
    return this.gatherFrom();
  }
}

/** An open `torch.save` file whose tensors are {@link TorchTensorRef}s, read on demand. Call {@link close} when done. */
export interface OpenTorchFile {
  /** The saved object, with dicts as `Map`s and tensors as {@link TorchTensorRef}s. */
  readonly object: unknown;
  readonly archive: string;
  close(): void;
}

/**
 * Reads a `torch.save` file whole: every tensor gathered.
 * @throws UsageError naming the file when it is not a torch zip checkpoint, or uses a global outside the allow-list
 */
export function readTorchFile(path: string, limits: ZipLimits = {}): TorchFile {
  const file = openTorchFile(path, limits);
  try {
    return { object: loadAll(file.object), archive: file.archive };
  } finally {
    file.close();
  }
}

/**
 * Opens a `torch.save` file and runs its pickle, without reading any tensor: a caller that needs a few tensors (an
 * import into a model) reads only those, and a storage it never asks for is never inflated.
 * @throws UsageError naming the file when it is not a torch zip checkpoint, or uses a global outside the allow-list
 */
export function openTorchFile(path: string, limits: ZipLimits = {}): OpenTorchFile {
  const zip = ZipReader.open(path, limits);
  try {
    const pickleName = [...zip.entries.keys()].find((name) => /^[^/]+\/data\.pkl$/.test(name));
    if (pickleName === undefined) {
      throw new UsageError(`${path}: no <archive>/data.pkl entry; not a torch.save file (legacy non-zip checkpoints are not read)`);
    }
    const archive = pickleName.slice(0, -'/data.pkl'.length);
    const byteOrder = zip.entries.has(`${archive}/byteorder`) ? zip.read(`${archive}/byteorder`).toString('utf8').trim() : 'little';
    if (byteOrder !== 'little') throw new UsageError(`${path}: storages are ${byteOrder}-endian; only little-endian checkpoints are read`);
    const pickleSize = zip.entries.get(pickleName)!.size;
    if (pickleSize > MAX_PICKLE_BYTES) {
      throw new UsageError(
        `${path}: entry '${pickleName}' declares ${pickleSize} bytes; a checkpoint's pickle holds only its structure (at most ${MAX_PICKLE_BYTES})`,
      );
    }
    const object = unpickle(zip.read(pickleName), {
      source: `${path}:${pickleName}`,
      resolveGlobal: (module, name) => resolveGlobal(module, name, path),
      persistentLoad: (pid) => storageRef(pid, path),
    });
    return { object: resolveTensors(object, zip, archive, path), archive, close: () => zip.close() };
  } catch (error) {
    zip.close();
    if (error instanceof PickleError) throw new UsageError(error.message);
    throw error;
  }
}

/** The object with every {@link TorchTensorRef} loaded, shared objects kept shared. */
function loadAll(value: unknown): unknown {
  const done = new Map<unknown, unknown>();
  const visit = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    if (done.has(v)) return done.get(v);
    if (v instanceof TorchTensorRef) {
      const tensor = v.load();
      done.set(v, tensor);
      return tensor;
    }
    if (v instanceof Map) {
      const map = new Map<unknown, unknown>();
      done.set(v, map);
      for (const [k, a] of v) map.set(k, visit(a));
      return map;
    }
    if (Array.isArray(v)) {
      const items: unknown[] = [];
      done.set(v, items);
      for (const a of v) items.push(visit(a));
      return Object.isFrozen(v) ? Object.freeze(items) : items;
    }
    if (Object.getPrototypeOf(v) === Object.prototype) {
      const object: Record<string, unknown> = {};
      done.set(v, object);
      for (const [k, a] of Object.entries(v)) object[k] = visit(a);
      return object;
    }
    return v;
  };
  return visit(value);
}

/** Tensors are rebuilt lazily in the pickle (a storage may follow its first use), then gathered here. */
class PendingTensor {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {}
}

/** An `argparse.Namespace`: its attributes, set by BUILD. */
class NamespaceObject implements Buildable {
  readonly attributes: Record<string, unknown> = {};
  setState(state: unknown): void {
    if (!(state instanceof Map)) throw new PickleError('argparse.Namespace state is not a dict');
    for (const [k, v] of state) this.attributes[String(k)] = v;
  }
}

/** A numpy dtype; BUILD supplies its byte order. */
class NumpyDtype implements Buildable {
  littleEndian = true;
  constructor(readonly code: string) {}
  setState(state: unknown): void {
    if (Array.isArray(state) && typeof state[1] === 'string') this.littleEndian = state[1] !== '>';
  }
}

const ident = (module: string, name: string) => `${module}.${name}`;

/** The allow-list: `module.name` → handler. */
const ALLOWED_GLOBALS: Readonly<Record<string, Omit<PickleGlobal, 'qualifiedName'>>> = {
  'collections.OrderedDict': {
    call: (args) => new Map((args[0] as Iterable<[unknown, unknown]> | undefined) ?? []),
  },
  'torch._utils._rebuild_tensor_v2': {
    call: ([storage, offset, size, stride]) => {
      if (!(storage instanceof Object) || !('key' in storage)) throw new PickleError('_rebuild_tensor_v2 without a storage');
      return new PendingTensor(storage as StorageRef, offset as number, size as number[], stride as number[]);
    },
  },
  'torch._utils._rebuild_parameter': { call: ([data]) => data },
  'torch._utils._rebuild_parameter_with_state': { call: ([data]) => data },
  // Tensor subclasses with Python state are saved as _rebuild_from_type_v2(func, type, args, state).
  'torch._tensor._rebuild_from_type_v2': {
    call: ([func, , args]) => (func as PickleGlobal).call!(args as unknown[]),
  },
  'torch.Tensor': {},
  'torch.nn.parameter.Parameter': {},
  'torch.device': { call: ([type, index]) => (index == null ? String(type) : `${String(type)}:${String(index)}`) },
  'argparse.Namespace': { construct: () => new NamespaceObject() },
  'numpy.dtype': { call: ([code]) => new NumpyDtype(String(code)) },
  'numpy.core.multiarray.scalar': { call: numpyScalar },
  'numpy._core.multiarray.scalar': { call: numpyScalar },
  // Protocol 2 pickles bytes as _codecs.encode(latin-1 text, 'latin1').
  '_codecs.encode': {
    call: ([text, encoding]) => {
      if (encoding !== 'latin1' || typeof text !== 'string') throw new PickleError(`_codecs.encode with encoding ${String(encoding)}`);
      return Uint8Array.from(Buffer.from(text, 'latin1'));
    },
  },
};

function resolveGlobal(module: string, name: string, path: string): PickleGlobal {
  const qualifiedName = ident(module, name);
  if (module === 'torch' && name in STORAGE_TYPES) {
    const storageType: StorageType = { qualifiedName, storageDtype: STORAGE_TYPES[name] };
    return storageType;
  }
  const handler = ALLOWED_GLOBALS[qualifiedName];
  if (handler === undefined) {
    throw new UsageError(
      `${path}: the checkpoint's pickle names '${qualifiedName}', which is not on shnet's allow-list; refusing to load it ` +
        '(a pickle global can run arbitrary code)',
    );
  }
  return { qualifiedName, ...handler };
}

function storageRef(pid: unknown, path: string): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) {
    throw new UsageError(`${path}: unexpected persistent id ${JSON.stringify(pid)}; torch.save writes ('storage', type, key, location, numel)`);
  }
  const [, type, key, , numel] = pid as [string, StorageType, unknown, unknown, unknown];
  if (type?.storageDtype === undefined)
    throw new UsageError(`${path}: persistent id names ${String((type as PickleGlobal)?.qualifiedName ?? type)}, not a storage type`);
  return { dtype: type.storageDtype, key: String(key), numel: Number(numel) };
}

function numpyScalar([dtype, bytes]: readonly unknown[]): number {
  if (!(dtype instanceof NumpyDtype) || !(bytes instanceof Uint8Array)) throw new PickleError('numpy scalar without a dtype and bytes');
  const kind = NUMPY_SCALARS[dtype.code];
  if (kind === undefined || bytes.length !== kind.bytes) throw new PickleError(`numpy scalar of dtype '${dtype.code}' is not read`);
  return kind.read(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), dtype.littleEndian);
}

/** Replaces pending tensors by tensor references and namespaces by plain objects, keeping shared objects shared. */
function resolveTensors(value: unknown, zip: ZipReader, archive: string, path: string): unknown {
  const done = new Map<unknown, unknown>();
  const visit = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    if (done.has(v)) return done.get(v);
    let out: unknown = v;
    if (v instanceof PendingTensor) {
      const pending = v;
      out = new TorchTensorRef(pending.storage.dtype, pending.shape, () => gather(pending, zip, archive, path));
    } else if (v instanceof NamespaceObject) {
      const attributes: Record<string, unknown> = {};
      done.set(v, attributes);
      for (const [k, a] of Object.entries(v.attributes)) attributes[k] = visit(a);
      return attributes;
    } else if (v instanceof Map) {
      const map = new Map<unknown, unknown>();
      done.set(v, map);
      for (const [k, a] of v) map.set(k, visit(a));
      return map;
    } else if (Array.isArray(v)) {
      const items: unknown[] = [];
      done.set(v, items);
      for (const a of v) items.push(visit(a));
      return Object.isFrozen(v) ? Object.freeze(items) : items;
    }
    done.set(v, out);
    return out;
  };
  return visit(value);
}

function gather(pending: PendingTensor, zip: ZipReader, archive: string, path: string): TorchTensor {
  const { storage, offset, shape, stride } = pending;
  const entry = `${archive}/data/${storage.key}`;
  const stored = zip.entries.get(entry);
  if (stored === undefined) throw new UsageError(`${path}: storage '${storage.key}' is missing (no entry ${entry})`);
  const bytes = TORCH_ELEMENT_BYTES[storage.dtype];
  if (stored.size !== storage.numel * bytes) {
    throw new UsageError(`${path}: storage '${storage.key}' holds ${stored.size} bytes, expected ${storage.numel} × ${bytes}`);
  }
  try {
    return materialise(storage.dtype, (begin, end) => zip.readRange(entry, begin, end), offset, shape, stride);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${path}: tensor in storage '${storage.key}': ${(error as Error).message}`);
  }
}

/**
 * Every tensor under `value`, named by the dotted path of dict keys and list indices (`model.0.fc.weight`).
 * @returns name → tensor, in the order the file holds them
 */
export function flattenTensors(value: unknown, prefix = ''): Map<string, TorchTensor> {
  const out = new Map<string, TorchTensor>();
  const visit = (v: unknown, name: string) => {
    if (v instanceof TorchTensor) out.set(name, v);
    else if (v instanceof Map) for (const [k, a] of v) visit(a, name ? `${name}.${String(k)}` : String(k));
    else if (Array.isArray(v)) v.forEach((a, i) => visit(a, name ? `${name}.${i}` : String(i)));
  };
  visit(value, prefix);
  return out;
}

/** The saved object as plain JavaScript: dicts with string keys become objects; tensors stay {@link TorchTensor}s. */
export function toPlain(value: unknown): unknown {
  if (value instanceof Map) {
    if (![...value.keys()].every((k) => typeof k === 'string')) return new Map([...value].map(([k, v]) => [k, toPlain(v)]));
    return Object.fromEntries([...value].map(([k, v]) => [k, toPlain(v)]));
  }
  if (Array.isArray(value)) return value.map(toPlain);
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlain(v)]));
  }
  return value;
}

export { FLOAT_TORCH_DTYPES, TorchTensor, type TorchDtype };
