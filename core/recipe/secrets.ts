import { isScalar, stringify, visit, Document } from 'yaml';
import { isPlainObject } from './located';

/**
 * Secrets in recipes. A recipe may have to hold a credential (a database URI with a password, a token a plugin
 * sends); shnet uses it as given but never writes it anywhere: the run folder's `recipe.yaml`, the MLflow params,
 * tags and artifact copies, and the printed recipe (`validate --print`, `run --dry-run`) show `***` instead.
 *
 * A value is secret when
 * - its author tags it: `token: !secret hf_abc123` (in a recipe file, or `--set 'vars.token=!secret hf_abc123'`);
 * - it is a string under a key that names a credential (`password`, `passwd`, `secret`, `token`, `apiKey`,
 *   `accessKey`, `privateKey`, `credentials`, as the key's last word: `dbPassword`, `hf_token`);
 * - or it is the `user:password@` part of a URI (`postgres://alice:***@db/x`).
 * A tagged value stays secret wherever a `${…}` reference copies it. Secrets are not part of a recipe's identity:
 * its hash is taken over the redacted form, so a run's saved `recipe.yaml` hashes as the run did.
 */

/** The YAML tag that marks a value secret. */
export const SECRET_TAG = '!secret';

/** What a secret is replaced with. */
export const REDACTED = '***';

/** Key names (their last word, case-insensitive) whose string values are credentials. */
const CREDENTIAL_KEY = /(password|passwd|secret|token|api_?key|access_?key|private_?key|credentials?)$/i;

const URI_USER_INFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^/@\s'"]*:[^/@\s'"]*@/gi;

/** Tagged values shorter than this are redacted where they are a whole value only, not inside other text. */
const MIN_EMBEDDED_SECRET = 4;

/** Whether a key names a credential (`token`, `dbPassword`, `client_secret`). */
export function isCredentialKey(key: string): boolean {
  return CREDENTIAL_KEY.test(key.replace(/[-.]/g, '_'));
}

/**
 * Every value marked secret by any recipe this process loaded. Writers (the run folder's recipe, tracker params)
 * redact these too, wherever they appear: redacting more than needed is harmless, writing a secret is not.
 */
const known = new Set<string>();

/** The values marked secret by the recipes this process loaded (for writers of non-recipe records: logs, artifacts). */
export function rememberedSecrets(): readonly string[] {
  return [...known];
}

/** Remembers values marked secret (the loader calls this for every `!secret` it reads). */
export function rememberSecrets(values: Iterable<string>): void {
  for (const value of values) if (value !== '') known.add(value);
}

/**
 * `text` with URI user-info and the given secret values replaced by `***`; with `remembered`, also every value
 * {@link rememberSecrets} was given (what writers want; a hash must not depend on what else the process loaded).
 */
export function redactText(text: string, secrets: Iterable<string> = [], remembered = true): string {
  let out = text.includes('://') ? text.replace(URI_USER_INFO, `$1${REDACTED}@`) : text;
  for (const secret of [...new Set([...secrets, ...(remembered ? known : [])])].sort((a, b) => b.length - a.length)) {
    if (out === secret) return REDACTED;
    if (secret.length >= MIN_EMBEDDED_SECRET && out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/**
 * A copy of a recipe tree with every secret replaced by `***`: strings under credential keys, URI user-info, and
 * the given secret values (and the remembered ones, unless `remembered` is false: see {@link redactText}).
 */
export function redactRecipe<T>(tree: T, secrets: Iterable<string> = [], remembered = true): T {
  const values = [...secrets];
  const visitValue = (value: unknown, key: string | null): unknown => {
    if (typeof value === 'string') return key !== null && isCredentialKey(key) ? REDACTED : redactText(value, values, remembered);
    if (Array.isArray(value)) return value.map((item) => visitValue(item, key));
    if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, visitValue(v, k)]));
    return value;
  };
  return visitValue(tree, null) as T;
}

/**
 * A resolved recipe as YAML that keeps its secrets and their marks: every secret value is written with the
 * `!secret` tag, so loading the text again marks (and hashes) them as the original did. For files shnet itself
 * runs (a sweep's trial recipes), never for records.
 */
export function stringifyWithSecrets(tree: Record<string, unknown>, secrets: readonly string[]): string {
  if (secrets.length === 0) return stringify(tree);
  const document = new Document(tree);
  const marked = new Set(secrets);
  visit(document, {
    Scalar(_key, node) {
      if (isScalar(node) && typeof node.value === 'string' && marked.has(node.value)) node.tag = SECRET_TAG;
    },
  });
  return document.toString();
}
