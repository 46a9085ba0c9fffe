import { createHash } from 'node:crypto';
import { MLFLOW_LIMITS } from './limits';

/**
 * Key and value normalisation. MLflow accepts keys matching `^[/\w.\- ]*$` that are normalised relative paths of at most
 * 250 characters. shnet's own keys (`i2t/R1`, `train/loss`, `model.image.args.embedDim`) already qualify and pass through
 * unchanged; anything else is mapped deterministically (same input → same key, in every run) so runs stay comparable.
 */

/** Python's `\w` is Unicode-aware; ASCII is the subset that is also safe as a file name everywhere. */
const VALID_KEY = /^[/A-Za-z0-9_.\- ]*$/;

function shortHash(text: string, hexChars: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, hexChars);
}

function isValidKey(key: string): boolean {
  if (key.length === 0 || key.length > MLFLOW_LIMITS.keyLength || !VALID_KEY.test(key)) return false;
  if (key.startsWith('/')) return false;
  return key.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

/**
 * Returns `key` unchanged when MLflow accepts it. Otherwise replaces each disallowed character with `_`, removes empty,
 * `.` and `..` path segments, and appends `-<6 hex of sha256(original)>` so two keys that differ only in replaced
 * characters (`R@1`, `R#1`) stay distinct. Over-long keys keep their head and a hash.
 */
export function sanitizeKey(key: string): string {
  if (isValidKey(key)) return key;
  const replaced = key
    .replace(/[^/A-Za-z0-9_.\- ]/g, '_')
    .split('/')
    .filter((segment) => segment !== '' && segment !== '.')
    .map((segment) => (segment === '..' ? '__' : segment))
    .join('/');
  const suffix = `-${shortHash(key, 6)}`;
  const head = (replaced || 'key').slice(0, MLFLOW_LIMITS.keyLength - suffix.length);
  return `${head.replace(/\/+$/, '')}${suffix}`;
}

/**
 * Truncates a value longer than `limit`, keeping its head and a hash of the full value (`…[sha256:<16 hex>]`), so two
 * different long values never read as equal. The full recipe is uploaded as an artifact for the complete text.
 */
export function truncateValue(value: string, limit: number): string {
  if (value.length <= limit) return value;
  const suffix = `…[sha256:${shortHash(value, 16)}]`;
  return value.slice(0, limit - suffix.length) + suffix;
}

/** A param value as MLflow stores it: a string of at most 6000 characters. */
export function paramValue(value: string | number | boolean): string {
  return truncateValue(String(value), MLFLOW_LIMITS.paramValueLength);
}

/** A tag value as MLflow stores it: a string of at most 5000 characters. */
export function tagValue(value: string): string {
  return truncateValue(value, MLFLOW_LIMITS.tagValueLength);
}
