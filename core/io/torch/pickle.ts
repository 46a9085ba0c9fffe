/**
 * A minimal, safe pickle virtual machine: it runs the opcodes `torch.save` emits (protocol 2, plus the few of
 * protocols 3–4 other writers use) and never imports or calls anything by itself. Every `GLOBAL` goes through a
 * caller-supplied resolver, which returns a handler for an allow-listed name or refuses; a pickle that names
 * anything else cannot run code. Persistent ids (torch's storages) go to a caller-supplied loader.
 *
 * Python values map to JavaScript as: dict → `Map` (insertion order, any key), list → array, tuple → frozen array,
 * int → number (bigint beyond 2⁵³), float → number, str → string, bytes → `Uint8Array`, None → null, bool → boolean.
 */

/** What an allow-listed `GLOBAL` stands for. Each operation it does not define is refused when a pickle uses it. */
export interface PickleGlobal {
  /** `module.name`, for messages. */
  readonly qualifiedName: string;
  /** REDUCE: `callable(*args)`. */
  call?(args: readonly unknown[]): unknown;
  /** NEWOBJ: `cls.__new__(cls, *args)`. */
  construct?(args: readonly unknown[]): unknown;
}

/** An object made by a {@link PickleGlobal} that accepts BUILD (`__setstate__` or `__dict__.update`). */
export interface Buildable {
  setState(state: unknown): void;
}

export interface UnpickleOptions {
  /** Returns the handler of `module.name`, or throws to refuse it. */
  resolveGlobal(module: string, name: string): PickleGlobal;
  /** BINPERSID: turns a persistent id into the object it stands for. */
  persistentLoad?(pid: unknown): unknown;
  /** Where the bytes came from, for messages. */
  readonly source?: string;
}

/** Thrown for a malformed pickle or one that uses what the resolver refused. */
export class PickleError extends Error {}

const MARK = Symbol('mark');

/** Runs the pickle in `bytes` and returns the object it builds. */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): unknown {
  return new Machine(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), options).run();
}

/** True for objects made from a handler that accepts BUILD. */
function isBuildable(value: unknown): value is Buildable {
  return typeof value === 'object' && value !== null && typeof (value as Buildable).setState === 'function';
}

class Machine {
  private at = 0;
  private stack: unknown[] = [];
  private readonly memo = new Map<number, unknown>();
  private readonly source: string;

  constructor(
    private readonly bytes: Buffer,
    private readonly options: UnpickleOptions,
  ) {
    this.source = options.source ?? 'pickle';
  }

  run(): unknown {
    for (;;) {
      const position = this.at;
      const op = this.u8();
      switch (op) {
        case 0x80: // PROTO
          if (this.u8() > 5) this.fail(position, 'pickle protocol above 5');
          break;
        case 0x95: // FRAME: a length prefix only, the framed opcodes follow inline
          this.at += 8;
          break;
        case 0x2e: // STOP
          if (this.stack.length !== 1) this.fail(position, `STOP with ${this.stack.length} values on the stack`);
          return this.stack[0];
        case 0x28: // MARK
          this.stack.push(MARK);
          break;
        case 0x30: // POP
          this.pop();
          break;
        case 0x31: // POP_MARK
          this.popMark(position);
          break;
        case 0x32: // DUP
          this.stack.push(this.top(position));
          break;
        case 0x4e: // NONE
          this.stack.push(null);
          break;
        case 0x88: // NEWTRUE
          this.stack.push(true);
          break;
        case 0x89: // NEWFALSE
          this.stack.push(false);
          break;
        case 0x4a: // BININT
          this.stack.push(this.take(4).readInt32LE(0));
          break;
        case 0x4b: // BININT1
          this.stack.push(this.u8());
          break;
        case 0x4d: // BININT2
          this.stack.push(this.take(2).readUInt16LE(0));
          break;
        case 0x8a: // LONG1
          this.stack.push(littleEndianSigned(this.take(this.u8())));
          break;
        case 0x8b: // LONG4
          this.stack.push(littleEndianSigned(this.take(this.u32())));
          break;
        case 0x47: // BINFLOAT (big-endian double)
          this.stack.push(this.take(8).readDoubleBE(0));
          break;
        case 0x58: // BINUNICODE
          this.stack.push(this.take(this.u32()).toString('utf8'));
          break;
        case 0x8c: // SHORT_BINUNICODE
          this.stack.push(this.take(this.u8()).toString('utf8'));
          break;
        case 0x8d: // BINUNICODE8
          this.stack.push(this.take(this.u64(position)).toString('utf8'));
          break;
        case 0x54: // BINSTRING (Python 2 str)
          this.stack.push(this.take(this.u32()).toString('latin1'));
          break;
        case 0x55: // SHORT_BINSTRING
          this.stack.push(this.take(this.u8()).toString('latin1'));
          break;
        case 0x42: // BINBYTES
          this.stack.push(Uint8Array.from(this.take(this.u32())));
          break;
        case 0x43: // SHORT_BINBYTES
          this.stack.push(Uint8Array.from(this.take(this.u8())));
          break;
        case 0x8e: // BINBYTES8
          this.stack.push(Uint8Array.from(this.take(this.u64(position))));
          break;
        case 0x7d: // EMPTY_DICT
          this.stack.push(new Map());
          break;
        case 0x64: // DICT
          this.stack.push(this.pairs(this.popMark(position), position, new Map()));
          break;
        case 0x5d: // EMPTY_LIST
          this.stack.push([]);
          break;
        case 0x6c: // LIST
          this.stack.push(this.popMark(position));
          break;
        case 0x29: // EMPTY_TUPLE
          this.stack.push(Object.freeze([]));
          break;
        case 0x74: // TUPLE
          this.stack.push(Object.freeze(this.popMark(position)));
          break;
        case 0x85: // TUPLE1
        case 0x86: // TUPLE2
        case 0x87: {
          // TUPLE3
          const n = op - 0x84;
          if (this.stack.length < n) this.fail(position, 'TUPLE on a short stack');
          this.stack.push(Object.freeze(this.stack.splice(this.stack.length - n, n)));
          break;
        }
        case 0x61: {
          // APPEND
          const value = this.pop();
          this.list(position).push(value);
          break;
        }
        case 0x65: {
          // APPENDS
          const values = this.popMark(position);
          this.list(position).push(...values);
          break;
        }
        case 0x73: {
          // SETITEM
          const value = this.pop();
          const key = this.pop();
          this.dict(position).set(key, value);
          break;
        }
        case 0x75: {
          // SETITEMS
          const items = this.popMark(position);
          this.pairs(items, position, this.dict(position));
          break;
        }
        case 0x63: // GLOBAL
          this.stack.push(this.resolve(this.line(), this.line()));
          break;
        case 0x93: {
          // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') this.fail(position, 'STACK_GLOBAL needs two strings');
          this.stack.push(this.resolve(module as string, name as string));
          break;
        }
        case 0x52: {
          // REDUCE
          const args = this.pop();
          const callable = this.pop() as PickleGlobal;
          if (!Array.isArray(args)) this.fail(position, 'REDUCE arguments are not a tuple');
          if (typeof callable?.call !== 'function') this.fail(position, `${describe(callable)} cannot be called`);
          this.stack.push(callable.call!(args as unknown[]));
          break;
        }
        case 0x81: {
          // NEWOBJ
          const args = this.pop();
          const cls = this.pop() as PickleGlobal;
          if (!Array.isArray(args)) this.fail(position, 'NEWOBJ arguments are not a tuple');
          if (typeof cls?.construct !== 'function') this.fail(position, `${describe(cls)} cannot be instantiated`);
          this.stack.push(cls.construct!(args as unknown[]));
          break;
        }
        case 0x62: {
          // BUILD
          const state = this.pop();
          const target = this.top(position);
          if (isBuildable(target)) target.setState(state);
          // A dict's BUILD state holds attributes, not items (OrderedDict state_dicts carry `_metadata` so): dropped.
          else if (!(target instanceof Map)) this.fail(position, `BUILD on ${describe(target)}, which takes no state`);
          break;
        }
        case 0x51: {
          // BINPERSID
          const pid = this.pop();
          if (!this.options.persistentLoad) this.fail(position, 'persistent id without a loader');
          this.stack.push(this.options.persistentLoad!(pid));
          break;
        }
        case 0x68: // BINGET
          this.stack.push(this.recall(this.u8(), position));
          break;
        case 0x6a: // LONG_BINGET
          this.stack.push(this.recall(this.u32(), position));
          break;
        case 0x67: // GET
          this.stack.push(this.recall(Number.parseInt(this.line(), 10), position));
          break;
        case 0x71: // BINPUT
          this.memo.set(this.u8(), this.top(position));
          break;
        case 0x72: // LONG_BINPUT
          this.memo.set(this.u32(), this.top(position));
          break;
        case 0x70: // PUT
          this.memo.set(Number.parseInt(this.line(), 10), this.top(position));
          break;
        case 0x94: // MEMOIZE
          this.memo.set(this.memo.size, this.top(position));
          break;
        default:
          this.fail(position, `unsupported opcode 0x${op.toString(16).padStart(2, '0')}`);
      }
    }
  }

  private resolve(module: string, name: string): PickleGlobal {
    return this.options.resolveGlobal(module, name);
  }

  private fail(position: number, why: string): never {
    throw new PickleError(`${this.source}: ${why} (byte ${position})`);
  }

  private u8(): number {
    if (this.at >= this.bytes.length) this.fail(this.at, 'pickle ends without STOP');
    return this.bytes[this.at++];
  }

  private u32(): number {
    return this.take(4).readUInt32LE(0);
  }

  private u64(position: number): number {
    const n = this.take(8).readBigUInt64LE(0);
    if (n > BigInt(this.bytes.length)) this.fail(position, 'length beyond the end of the pickle');
    return Number(n);
  }

  private take(n: number): Buffer {
    if (this.at + n > this.bytes.length) this.fail(this.at, 'pickle ends inside an argument');
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.at);
    if (end < 0) this.fail(this.at, 'pickle ends inside a text argument');
    const text = this.bytes.toString('utf8', this.at, end);
    this.at = end + 1;
    return text;
  }

  private pop(): unknown {
    const value = this.stack.pop();
    if (value === undefined || value === MARK) this.fail(this.at - 1, 'stack underflow');
    return value;
  }

  private top(position: number): unknown {
    const value = this.stack[this.stack.length - 1];
    if (value === undefined || value === MARK) this.fail(position, 'stack underflow');
    return value;
  }

  private popMark(position: number): unknown[] {
    const mark = this.stack.lastIndexOf(MARK);
    if (mark < 0) this.fail(position, 'no MARK on the stack');
    const items = this.stack.slice(mark + 1);
    this.stack.length = mark;
    return items;
  }

  private list(position: number): unknown[] {
    const target = this.top(position);
    if (!Array.isArray(target) || Object.isFrozen(target)) this.fail(position, `APPEND to ${describe(target)}`);
    return target as unknown[];
  }

  private dict(position: number): Map<unknown, unknown> {
    const target = this.top(position);
    if (!(target instanceof Map)) this.fail(position, `SETITEM on ${describe(target)}`);
    return target as Map<unknown, unknown>;
  }

  private pairs(items: unknown[], position: number, into: Map<unknown, unknown>): Map<unknown, unknown> {
    if (items.length % 2 !== 0) this.fail(position, 'odd number of dict items');
    for (let i = 0; i < items.length; i += 2) into.set(items[i], items[i + 1]);
    return into;
  }

  private recall(key: number, position: number): unknown {
    if (!this.memo.has(key)) this.fail(position, `memo key ${key} was never stored`);
    return this.memo.get(key);
  }
}

/** Little-endian two's-complement bytes (LONG1/LONG4) → number, or bigint beyond 2⁵³. */
function littleEndianSigned(bytes: Buffer): number | bigint {
  if (bytes.length === 0) return 0;
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  if (bytes[bytes.length - 1] & 0x80) value -= 1n << BigInt(8 * bytes.length);
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

function describe(value: unknown): string {
  if (value === null) return 'None';
  if (typeof value === 'object' && 'qualifiedName' in (value as object)) return (value as PickleGlobal).qualifiedName;
  if (value instanceof Map) return 'a dict';
  if (Array.isArray(value)) return Object.isFrozen(value) ? 'a tuple' : 'a list';
  return `a ${typeof value}`;
}
