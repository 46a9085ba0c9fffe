/**
 * Where the MLflow server is and how to authenticate to it, resolved from explicit settings and MLflow's own environment
 * variables. Credentials live only in the request headers built here: never in URIs shown to the user, errors, logs,
 * params, tags or files.
 */

/** A server address with its credentials separated out. */
export interface ServerConnection {
  /** Base URL without credentials, without trailing slash (`http://127.0.0.1:5000`). */
  readonly baseUrl: string;
  /** `Authorization` header value, when credentials were given. */
  readonly authorization?: string;
}

/** Replaces the user-info part of a URI (`http://user:pass@host` → `http://***@host`) so it can be shown. */
export function redactUri(uri: string): string {
  return uri.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1***@');
}

/** True for `http(s)://` tracking URIs (a server); `file:` URIs and bare paths are local stores. */
export function isServerUri(uri: string): boolean {
  return /^https?:\/\//i.test(uri);
}

/**
 * Builds the connection to `uri`. Credentials come, in this order, from `MLFLOW_TRACKING_TOKEN` (Bearer), from
 * `user:pass@` in the URI, then from `MLFLOW_TRACKING_USERNAME`/`MLFLOW_TRACKING_PASSWORD` (Basic).
 */
export function connect(uri: string, env: NodeJS.ProcessEnv = process.env): ServerConnection {
  const url = new URL(uri);
  const uriUser = decodeURIComponent(url.username);
  const uriPassword = decodeURIComponent(url.password);
  url.username = '';
  url.password = '';
  const baseUrl = url.toString().replace(/\/+$/, '');
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  if (env.MLFLOW_TRACKING_TOKEN) return { baseUrl, authorization: `Bearer ${env.MLFLOW_TRACKING_TOKEN}` };
  if (uriUser) return { baseUrl, authorization: basic(uriUser, uriPassword) };
  if (env.MLFLOW_TRACKING_USERNAME) {
    return { baseUrl, authorization: basic(env.MLFLOW_TRACKING_USERNAME, env.MLFLOW_TRACKING_PASSWORD ?? '') };
  }
  return { baseUrl };
}
