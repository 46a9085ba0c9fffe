import type { RunSummary } from './compare-data';

/**
 * Which columns `shnet compare` shows, and in what order. A run's params are its resolved recipe flattened with `.`,
 * so a slot switched off with `null` is one param (`model.image.segmenter` = `null`) where another run has the node's
 * keys (`model.image.segmenter.type`, `…args.…`). Such a node is one column — its `type`, or `null` — and a key
 * inside it is a column only when it differs between the runs that have the node: otherwise every key of a switched-
 * off node would be a column of its own.
 */

/** A param column: the key, and whether it stands for a whole node (its type or `null`). */
export interface ParamColumn {
  key: string;
  node: boolean;
}

/** Node keys: a param of one run (`null`) that is a prefix of other runs' params. */
function switchedNodes(runs: readonly RunSummary[], keys: readonly string[]): Set<string> {
  const nodes = new Set<string>();
  for (const key of keys) {
    const off = runs.some((run) => key in run.params);
    const on = runs.some((run) => Object.keys(run.params).some((k) => k.startsWith(`${key}.`)));
    if (off && on) nodes.add(key);
  }
  return nodes;
}

/** The value a run shows in a column: for a node, its type, `null`, or `{…}` for a node without a type (a group). */
export function paramCell(run: RunSummary, column: ParamColumn): string {
  const value = run.params[column.key];
  if (!column.node || value !== undefined) return value ?? '';
  const type = run.params[`${column.key}.type`];
  if (type !== undefined) return type;
  return Object.keys(run.params).some((k) => k.startsWith(`${column.key}.`)) ? '{…}' : '';
}

/** True when a node that encloses `key` is switched off in `run`, so the key says nothing about it. */
function insideSwitchedOff(run: RunSummary, key: string, nodes: ReadonlySet<string>): boolean {
  for (const node of nodes) if (key.startsWith(`${node}.`) && node in run.params) return true;
  return false;
}

/**
 * The param columns: keys whose values differ between the runs, with switched nodes collapsed (see the file comment)
 * and `name` left out when it is every run's name (the `name` column shows it).
 */
export function differingParams(runs: readonly RunSummary[]): ParamColumn[] {
  const keys = [...new Set(runs.flatMap((run) => Object.keys(run.params)))].sort();
  const nodes = switchedNodes(runs, keys);
  const columns: ParamColumn[] = [];
  for (const key of keys) {
    if (key === 'name' && runs.every((run) => run.params.name === undefined || run.params.name === run.runName)) continue;
    const parent = key.endsWith('.type') ? key.slice(0, -'.type'.length) : undefined;
    if (parent !== undefined && nodes.has(parent)) continue; // the node's own column shows its type
    const column = { key, node: nodes.has(key) };
    const relevant = runs.filter((run) => !insideSwitchedOff(run, key, nodes));
    if (new Set(relevant.map((run) => paramCell(run, column))).size > 1) columns.push(column);
  }
  return columns;
}

/** Sort rank of a metric's last segment: recalls by K (R1, R5, R10), then medr, meanr, then anything else. */
function leafRank(leaf: string): [number, number] {
  const recall = /^R(\d+)$/.exec(leaf);
  if (recall) return [0, Number(recall[1])];
  return [{ medr: 1, meanr: 2 }[leaf] ?? 3, 0];
}

/** Sort rank of a metric's direction: i2t, then t2i, then the rest (rsum closes a scope). */
const directionRank = (direction: string) => ({ i2t: 0, t2i: 1 })[direction] ?? 2;

/** Sort rank of a metric's scope: unscoped, then validation (`val/`), then test (`test/`), then others by name. */
const scopeRank = (scope: string) => ({ '': 0, val: 1, test: 2 })[scope] ?? 3;

/**
 * Metric keys in reading order: by scope (validation `val/…`, then `test/…`, then others), then i2t before t2i
 * before rSum, then R1, R5, R10, medr, meanr — the order of the paper's tables.
 */
export function orderMetrics(keys: readonly string[]): string[] {
  const parts = (key: string) => {
    const segments = key.split('/');
    const leaf = segments.at(-1)!;
    const direction = segments.length >= 2 && ['i2t', 't2i'].includes(segments.at(-2)!) ? segments.at(-2)! : '';
    const scope = segments.slice(0, segments.length - (direction ? 2 : 1)).join('/');
    return { scope, direction, leaf };
  };
  return [...keys].sort((a, b) => {
    const [pa, pb] = [parts(a), parts(b)];
    if (pa.scope !== pb.scope) return scopeRank(pa.scope) - scopeRank(pb.scope) || (pa.scope < pb.scope ? -1 : 1);
    const byDirection = directionRank(pa.direction) - directionRank(pb.direction);
    if (byDirection !== 0) return byDirection;
    const [ra, rb] = [leafRank(pa.leaf), leafRank(pb.leaf)];
    return ra[0] - rb[0] || ra[1] - rb[1] || (pa.leaf < pb.leaf ? -1 : pa.leaf > pb.leaf ? 1 : 0);
  });
}

/**
 * The metric runs are ranked by when `--metric` is not given: the test split's rSum when a run has it (the figure a
 * paper reports), else the validation rSum (`val/rsum`; `rsum` in runs logged before validation metrics had their
 * prefix); undefined when no run has any.
 */
export function defaultRankMetric(runs: readonly RunSummary[]): string | undefined {
  return ['test/rsum', 'val/rsum', 'rsum'].find((key) => runs.some((run) => key in run.metrics));
}
