import { UsageError } from 'shnet';

/**
 * A small subset of MLflow's search-filter syntax for runs in a local store: clauses `params.x = 'v'`,
 * `metrics.m > 0.5`, `tags.t != 'v'`, `attributes.status = 'FINISHED'`, joined by `AND`. Operators: = != < <= > >=.
 * Keys may be back-quoted (`params.\`a b\``), as in MLflow.
 */

/** What the filter sees of one run. */
export interface FilterableRun {
  params: Record<string, string>;
  metrics: Record<string, number>;
  tags: Record<string, string>;
  attributes: Record<string, string | number>;
}

type Operator = '=' | '!=' | '<' | '<=' | '>' | '>=';
interface Clause {
  entity: keyof FilterableRun;
  key: string;
  op: Operator;
  value: string | number;
}

const CLAUSE =
  /^\s*(params|param|metrics|metric|tags|tag|attributes|attribute)\.(`[^`]+`|"[^"]+"|[\w./-]+)\s*(!=|<=|>=|=|<|>)\s*('(?:[^']*)'|"(?:[^"]*)"|-?[\d.]+(?:e-?\d+)?)\s*$/i;

export function parseFilter(filter: string): Clause[] {
  if (!filter.trim()) return [];
  return filter.split(/\s+AND\s+/i).map((text) => {
    const match = CLAUSE.exec(text);
    if (!match) {
      throw new UsageError(`cannot read filter clause '${text.trim()}' (expected e.g. params.lr = '0.1' or metrics.\`val/rsum\` > 400)`);
    }
    const [, entity, rawKey, op, rawValue] = match;
    const key = /^[`"]/.test(rawKey) ? rawKey.slice(1, -1) : rawKey;
    const value = /^['"]/.test(rawValue) ? rawValue.slice(1, -1) : Number(rawValue);
    const plural = entity.toLowerCase().replace(/s?$/, 's') as keyof FilterableRun;
    return { entity: plural, key, op: op as Operator, value };
  });
}

function compare(actual: string | number | undefined, op: Operator, wanted: string | number): boolean {
  if (actual === undefined) return false;
  const [a, b] = typeof wanted === 'number' ? [Number(actual), wanted] : [String(actual), wanted];
  switch (op) {
    case '=':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}

/** True when `run` satisfies every clause of `filter`. */
export function matchesFilter(run: FilterableRun, clauses: Clause[]): boolean {
  return clauses.every((clause) => compare(run[clause.entity][clause.key], clause.op, clause.value));
}
