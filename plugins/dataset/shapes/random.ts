/**
 * A tiny keyed pseudo-random generator for scene generation. Every stream is keyed by numbers such as
 * (split seed, image index, purpose), so image i comes out the same whatever order images are generated in, and a
 * split can be generated lazily, one image at a time. (The run's checkpointable `Rng` service is for training; this is
 * the data set's own, fixed forever so that a seed names the same data set in every version.)
 */

/** Finaliser of MurmurHash3: a bijective 32-bit mix with good avalanche. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a hash of a string, for keying streams by names (`train`, `captions`). */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Combines key parts (each taken as a 32-bit integer, or hashed when a string) into one 32-bit key. */
export function combineKey(...parts: readonly (number | string)[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    const value = typeof part === 'string' ? hashString(part) : part >>> 0;
    h = fmix32((h ^ fmix32(value + 0x632be5ab)) + 0x7f4a7c15);
  }
  return h;
}

/** A mulberry32 stream: small, fast, and good enough for sampling scenes. */
export class KeyedRandom {
  private state: number;

  constructor(...key: readonly (number | string)[]) {
    this.state = combineKey(...key);
  }

  /** Uniform 32-bit unsigned integer. */
  uint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Fills `out` with the next `out.length` values of {@link uint32}, in a tight loop (bulk pixel noise). */
  fillUint32(out: Uint32Array): void {
    let state = this.state;
    for (let i = 0; i < out.length; i++) {
      state = (state + 0x6d2b79f5) | 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      out[i] = t ^ (t >>> 14);
    }
    this.state = state >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** A uniformly shuffled copy (Fisher–Yates). */
  shuffled<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }
}
