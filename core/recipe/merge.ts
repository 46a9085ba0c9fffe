import type { SourceLocation } from './errors';
import { forgetLocations, isPlainObject, joinPath, type LocatedRecipe } from './located';
import { NodeKey } from './reserved-keys';

/**
 * Deep-merges `overlay` onto `base` (neither is modified) and tracks where each key was last set.
 *
 * Rules (the lessons of mmdetection's `_delete_` and LightningCLI's stale init args):
 * - mappings merge key by key; lists and scalars replace; `null` replaces (that is how a slot is switched off);
 * - when the overlay changes a node's `type`, the base node's `args` are dropped, unless the overlay node says
 *   `merge: true` (the `merge` key itself never reaches the result).
 */
export function mergeRecipes(base: LocatedRecipe, overlay: LocatedRecipe): LocatedRecipe {
  const locations = new Map(base.locations);
  const data = mergeValue(base.data, overlay.data, '', locations, overlay.locations) as Record<string, unknown>;
  return { data, locations };
}

function mergeValue(
  base: unknown,
  over: unknown,
  path: string,
  locations: Map<string, SourceLocation>,
  overLocations: ReadonlyMap<string, SourceLocation>,
): unknown {
  const overLocation = overLocations.get(path);
  if (!isPlainObject(base) || !isPlainObject(over)) {
    forgetLocations(locations, path);
    for (const [key, location] of overLocations) {
      if (key === path || path === '' || key.startsWith(`${path}.`)) locations.set(key, location);
    }
    return structuredClone(over);
  }
  if (overLocation) locations.set(path, overLocation);
  const result: Record<string, unknown> = { ...base };
  const typeChanged = NodeKey.type in over && NodeKey.type in base && over[NodeKey.type] !== base[NodeKey.type];
  if (typeChanged && over[NodeKey.merge] !== true) {
    delete result[NodeKey.args];
    forgetLocations(locations, joinPath(path, NodeKey.args));
  }
  for (const [key, value] of Object.entries(over)) {
    if (key === NodeKey.merge) continue;
    // `result`, not `base`: args dropped by a type change must not be merged back in.
    result[key] =
      key in result
        ? mergeValue(result[key], value, joinPath(path, key), locations, overLocations)
        : mergeValue(undefined, value, joinPath(path, key), locations, overLocations);
  }
  delete result[NodeKey.merge];
  return result;
}
