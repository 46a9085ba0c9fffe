/** Reading the query string of a `shnet serve` request: strict, so every mistake is a 400 with a message. */

/** A request the client got wrong: answered with this status and message, the server carries on. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The parameters of a query string (`a=1&b=two`), percent-decoded (`+` is a space). A malformed escape, a parameter
 * given twice, or one not in `allowed` is an {@link HttpError} 400.
 */
export function parseQueryString(search: string, allowed: readonly string[]): Map<string, string> {
  const params = new Map<string, string>();
  const body = search.startsWith('?') ? search.slice(1) : search;
  for (const part of body.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decode(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : decode(part.slice(eq + 1));
    if (!allowed.includes(name)) throw new HttpError(400, `unknown parameter '${name}' (this endpoint takes ${allowed.join(', ')})`);
    if (params.has(name)) throw new HttpError(400, `parameter '${name}' is given more than once`);
    params.set(name, value);
  }
  return params;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw new HttpError(400, `malformed query string: '${text.slice(0, 40)}' is not valid percent-encoding`);
  }
}

/** An integer parameter in [min, max], or `fallback` when absent. */
export function integerParameter(params: ReadonlyMap<string, string>, name: string, fallback: number, min: number, max: number): number {
  const raw = params.get(name);
  if (raw === undefined) return fallback;
  if (!/^\d{1,9}$/.test(raw)) throw new HttpError(400, `${name} must be an integer from ${min} to ${max}, got '${raw.slice(0, 40)}'`);
  const value = Number(raw);
  if (value < min || value > max) throw new HttpError(400, `${name} must be an integer from ${min} to ${max}, got ${value}`);
  return value;
}
