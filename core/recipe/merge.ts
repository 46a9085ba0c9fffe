import type { SourceLocation } from './errors';
import { isPlainObject, joinPath, type LocatedRecipe } from './located';
import { NodeKey } from './reserved-keys';

/**
 * Deep-merges `overlay` onto `base` (neither is modified) and tracks where each key was last set.
 *
 * Rules (the lessons of mmdetection's `_delete_` and LightningCLI's stale init args):
 * - mappings merge key by key; lists and scalars replace; `null` replaces (that is how a slot is switched off);
 * - when the overlay changes a node's `type`, the base node's `args` are dropped, unless the overlay node says
 *   `merge: true` (the `merge` key itself never reaches the result).
 *
 * Time is linear in the number of keys of both sides: the base's locations under every replaced subtree are
 * dropped in one pass at the end, not searched for at each replacement.
 */
export function mergeRecipes(base: LocatedRecipe, overlay: LocatedRecipe): LocatedRecipe {
  const replaced = new Set<string>();
  const data = mergeValue(base.data, overlay.data, '', replaced) as Record<string, unknown>;
  const locations = new Map<string, SourceLocation>();
  for (const [path, location] of base.locations) if (!underAny(path, replaced)) locations.set(path, location);
  for (const [path, location] of overlay.locations) if (!isMergeKey(path)) locations.set(path, location);
  return { data, locations };
}

/** Merges `over` onto `base` at `path`, recording in `replaced` every path whose base subtree no longer exists. */
function mergeValue(base: unknown, over: unknown, path: string, replaced: Set<string>): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) {
    replaced.add(path);
    return structuredClone(over);
  }
  const result: Record<string, unknown> = { ...base };
  const typeChanged = Object.hasOwn(over, NodeKey.type) && Object.hasOwn(base, NodeKey.type) && over[NodeKey.type] !== base[NodeKey.type];
  if (typeChanged && over[NodeKey.merge] !== true) {
    delete result[NodeKey.args];
    replaced.add(joinPath(path, NodeKey.args));
  }
  for (const [key, value] of Object.entries(over)) {
    if (key === NodeKey.merge) continue;
    // `result`, not `base`: args dropped by a type change must not be merged back in.
    result[key] = mergeValue(Object.hasOwn(result, key) ? result[key] : undefined, value, joinPath(path, key), replaced);
  }
  delete result[NodeKey.merge];
  return result;
}

/** Whether `path` is `prefix` or lies under it, for any prefix in `prefixes` (walks up `path`: O(depth)). */
function underAny(path: string, prefixes: ReadonlySet<string>): boolean {
  if (prefixes.has('')) return true;
  for (let p = path; ;) {
    if (prefixes.has(p)) return true;
    const dot = p.lastIndexOf('.');
    if (dot < 0) return false;
    p = p.slice(0, dot);
  }
}

function isMergeKey(path: string): boolean {
  return path === NodeKey.merge || path.endsWith(`.${NodeKey.merge}`);
}
