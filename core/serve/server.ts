import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../contracts/services';
import { UsageError } from '../errors';
import { checkQueryText, MAX_QUERY_CHARACTERS } from '../run/encode-query';
import { MAX_K, type RunRetrieval } from '../run/retrieval';
import { HttpError, integerParameter, parseQueryString } from './request';
import { searchPage } from './search-page';

export interface ServeOptions {
  /** Interface to listen on; loopback unless asked otherwise. */
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Results when a query gives no `k`. */
  readonly defaultK?: number;
}

/** A listening server. */
export interface RunningServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** Longest request target accepted: a query of {@link MAX_QUERY_CHARACTERS} percent-encoded fits, with room to spare. */
const MAX_URL_LENGTH = 16 * MAX_QUERY_CHARACTERS;
/** Rendered pictures kept in memory (a page of results asks for the same few again and again). */
const PICTURE_CACHE = 512;

/**
 * The HTTP face of a {@link RunRetrieval}: a JSON API and a search page.
 *
 * - `GET /health` → `{status: "ok", split, images, captions, index}`
 * - `GET /query?text=…&k=` → the k images of the split closest to the sentence, with scores, their captions and
 *   picture URLs, and the words the vocabulary lacks; `GET /query?image=ID&k=` → the k closest captions
 * - `GET /images/ID.png[?overlay=1]` → the picture of an image of the split
 * - `GET /` → the search page
 *
 * Every mistake of the client (empty or over-long text, k out of range, unknown image, malformed or unknown
 * parameters) is a 400 with `{error}`; an unknown path a 404; another method a 405. An error of the server's own is
 * a 500 with its message, logged — and in every case the server keeps serving.
 */
export async function startServer(retrieval: RunRetrieval, options: ServeOptions, logger: Logger): Promise<RunningServer> {
  const pictures = new Map<string, Uint8Array>();
  const defaultK = Math.min(options.defaultK ?? 10, retrieval.numImages, MAX_K);

  const route = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const target = request.url ?? '/';
    if (target.length > MAX_URL_LENGTH) throw new HttpError(400, `the request is ${target.length} characters long; at most ${MAX_URL_LENGTH} are accepted`);
    if (request.method !== 'GET' && request.method !== 'HEAD') throw new HttpError(405, `method ${request.method} is not allowed (use GET)`);
    const at = target.indexOf('?');
    const path = at < 0 ? target : target.slice(0, at);
    const search = at < 0 ? '' : target.slice(at + 1);

    if (path === '/' || path === '/index.html') {
      parseQueryString(search, []);
      return send(
        response,
        200,
        'text/html; charset=utf-8',
        searchPage({ split: retrieval.split, images: retrieval.numImages, defaultK, maxK: Math.min(MAX_K, retrieval.numImages) }),
      );
    }
    if (path === '/health') {
      parseQueryString(search, []);
      const index = await retrieval.index('images');
      return sendJson(response, 200, {
        status: 'ok',
        split: retrieval.split,
        images: retrieval.numImages,
        captions: 5 * retrieval.numImages,
        index: { kind: index.index.kind, size: index.index.size, origin: index.origin },
      });
    }
    if (path === '/query') {
      const params = parseQueryString(search, ['text', 'image', 'k']);
      const text = params.get('text');
      const image = params.get('image');
      if ((text === undefined) === (image === undefined)) throw new HttpError(400, 'give exactly one of text=SENTENCE or image=ID');
      if (text !== undefined) {
        checkQueryText(text);
        const k = integerParameter(params, 'k', defaultK, 1, Math.min(MAX_K, retrieval.numImages));
        const result = await retrieval.textToImages(text, k);
        return sendJson(response, 200, {
          ...result,
          k,
          split: retrieval.split,
          hits: result.hits.map((hit) => ({ ...hit, url: `/images/${hit.image}.png` })),
        });
      }
      const id = imageId(image!, retrieval.numImages);
      const k = integerParameter(params, 'k', defaultK, 1, Math.min(MAX_K, 5 * retrieval.numImages));
      return sendJson(response, 200, { ...(await retrieval.imageToCaptions(id, k)), k, split: retrieval.split });
    }
    const picture = /^\/images\/([^/]+)\.png$/.exec(path);
    if (picture) {
      const params = parseQueryString(search, ['overlay']);
      const overlay = params.has('overlay') && params.get('overlay') !== '0';
      const id = imageId(decodeSegment(picture[1]), retrieval.numImages);
      if (!retrieval.hasPictures) throw new HttpError(404, `the data set of split '${retrieval.split}' has no pictures`);
      const key = `${id}:${overlay}`;
      let png = pictures.get(key);
      if (!png) {
        png = await retrieval.picture(id, overlay);
        if (pictures.size >= PICTURE_CACHE) pictures.delete(pictures.keys().next().value!);
        pictures.set(key, png);
      }
      response.setHeader('Cache-Control', 'max-age=3600');
      return send(response, 200, 'image/png', png);
    }
    throw new HttpError(404, `no such endpoint: ${path.slice(0, 100)} (endpoints: /, /health, /query, /images/ID.png)`);
  };

  const server = createServer((request, response) => {
    route(request, response).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : error instanceof UsageError ? 400 : 500;
      const message = error instanceof Error ? error.message : String(error);
      if (status === 500) logger.error(`${request.method} ${request.url?.slice(0, 200)}: ${error instanceof Error && error.stack ? error.stack : message}`);
      if (response.headersSent) response.destroy();
      else sendJson(response, status, { error: message });
    });
  });
  server.maxHeadersCount = 50;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** An image id from a path or parameter: a decimal integer within the split. */
function imageId(raw: string, numImages: number): number {
  if (!/^\d{1,9}$/.test(raw)) throw new HttpError(400, `image must be an image number from 0 to ${numImages - 1}, got '${raw.slice(0, 40)}'`);
  const id = Number(raw);
  if (id >= numImages) throw new HttpError(400, `image ${id} is not in the split (images 0..${numImages - 1})`);
  return id;
}

function decodeSegment(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new HttpError(400, `malformed path: '${text.slice(0, 40)}' is not valid percent-encoding`);
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  send(response, status, 'application/json; charset=utf-8', `${JSON.stringify(body)}\n`);
}

function send(response: ServerResponse, status: number, type: string, body: string | Uint8Array): void {
  response.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'X-Content-Type-Options': 'nosniff' });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}
