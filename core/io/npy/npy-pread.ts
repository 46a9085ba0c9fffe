/**
 * Positioned reads that fill caller-owned memory exactly. One contiguous byte range of the file may be scattered
 * over several views with one `preadv` (rows of a shuffled batch that are neighbours in the file but not in the
 * batch), so bytes land where they belong without a scratch buffer or a copy. Short reads are resumed; a range that
 * runs past the end of the file is an {@link NpyError} naming the file.
 */
import { readv, readvSync } from 'node:fs';
import { NpyError } from './npy-header';

/** Views handed to one `preadv` at most: Linux's IOV_MAX (libuv would silently cut a longer list short). */
const MAX_VIEWS_PER_CALL = 1024;

/** Fills `views`, in order, with the file bytes that start at `position`. */
export function readFullySync(path: string, fd: number, position: number, views: readonly Uint8Array[]): void {
  const pending = views.filter((v) => v.length > 0);
  let head = 0;
  while (head < pending.length) {
    const n = readvSync(fd, pending.slice(head, head + MAX_VIEWS_PER_CALL), position);
    if (n === 0) throw endOfFile(path, position);
    position += n;
    head = consume(pending, head, n);
  }
}

/** Async {@link readFullySync}: the reads run on libuv's file-system threads. */
export function readFully(path: string, fd: number, position: number, views: readonly Uint8Array[]): Promise<void> {
  const pending = views.filter((v) => v.length > 0);
  return new Promise((resolve, reject) => {
    let head = 0;
    const step = (): void => {
      if (head === pending.length) return resolve();
      readv(fd, pending.slice(head, head + MAX_VIEWS_PER_CALL), position, (err, n) => {
        if (err) return reject(err);
        if (n === 0) return reject(endOfFile(path, position));
        position += n;
        head = consume(pending, head, n);
        step();
      });
    };
    step();
  });
}

/** Drops the first `n` bytes of `pending[head..]`; returns the index of the first view that still needs bytes. */
function consume(pending: Uint8Array[], head: number, n: number): number {
  while (n > 0) {
    const length = pending[head].length;
    if (n < length) {
      pending[head] = pending[head].subarray(n);
      return head;
    }
    n -= length;
    head++;
  }
  return head;
}

function endOfFile(path: string, position: number): NpyError {
  return new NpyError(path, `unexpected end of file at byte ${position}`);
}
