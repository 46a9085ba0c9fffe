import type { Rng } from '../contracts/services';

/**
 * The run's seeded random stream: xoshiro128** (Blackman & Vigna, 2018) over four 32-bit words, seeded through
 * splitmix32 so that nearby seeds give unrelated streams. Cheap, well studied, and its whole state is four numbers,
 * which makes `state()` / `restore()` exact.
 *
 * `fork(label)` derives a child stream from this stream's *seed* (not its current position) and a hash of the label,
 * so `rng.fork('init:model.image')` is the same stream in every run with the same seed, however much the parent
 * has been drawn from.
 */
export class Xoshiro128 implements Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  /** The 32-bit value this stream was seeded from; forks derive from it. */
  private base: number;

  /** @param seed any integer; only its low 32 bits are used. */
  constructor(seed: number) {
    this.base = seed >>> 0;
    this.seedFrom(this.base);
  }

  next(): number {
    return this.nextUint32() / 4294967296;
  }

  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`Rng.int(n) needs a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }

  fork(label: string): Rng {
    return new Xoshiro128(mix32(this.base ^ fnv1a32(label)));
  }

  /** `[s0, s1, s2, s3, seed]`: the generator words and the seed that forks derive from. */
  state(): number[] {
    return [this.s0, this.s1, this.s2, this.s3, this.base];
  }

  restore(state: readonly number[]): void {
    if (state.length !== 5 || state.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) {
      throw new RangeError(`Rng state must be five unsigned 32-bit integers, got [${state.join(', ')}]`);
    }
    if ((state[0] | state[1] | state[2] | state[3]) === 0) throw new RangeError('Rng state must not be all zero');
    [this.s0, this.s1, this.s2, this.s3, this.base] = state;
  }

  /** Next raw 32-bit output of xoshiro128**. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    this.s3 >>>= 0;
    return result;
  }

  private seedFrom(seed: number): void {
    let x = seed >>> 0;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      words.push(mix32(x));
    }
    [this.s0, this.s1, this.s2, this.s3] = words;
    // splitmix32 cannot produce four zero words from one seed, but keep the invariant explicit.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }
}

/** Creates the run's random stream from its seed. */
export function createRng(seed: number): Rng {
  return new Xoshiro128(seed);
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The splitmix32 output function (a 32-bit finaliser with full avalanche). */
function mix32(z: number): number {
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** 32-bit FNV-1a over the label's UTF-16 code units. */
function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
