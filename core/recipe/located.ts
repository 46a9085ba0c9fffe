import type { SourceLocation } from './errors';

/**
 * A recipe tree as plain data plus where each key path was last set. Paths are dotted (`model.image.args.embedDim`);
 * list items are `path.0`, `path.1`.
 */
export interface LocatedRecipe {
  readonly data: Record<string, unknown>;
  readonly locations: Map<string, SourceLocation>;
}

export function joinPath(parent: string, key: string | number): string {
  return parent === '' ? String(key) : `${parent}.${key}`;
}

/** The location of `path`, or of its closest located ancestor (a key that was never set is reported at its parent). */
export function locate(locations: ReadonlyMap<string, SourceLocation>, path: string): SourceLocation | undefined {
  for (let p = path; ; p = p.slice(0, Math.max(0, p.lastIndexOf('.')))) {
    const found = locations.get(p);
    if (found || p === '') return found;
  }
}

/** Removes every location at or under `path`. */
export function forgetLocations(locations: Map<string, SourceLocation>, path: string): void {
  for (const key of [...locations.keys()]) {
    if (key === path || key.startsWith(`${path}.`)) locations.delete(key);
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
