/**
 * Atomic file replacement: a reader of the target sees either the previous file or the complete new one, never a
 * torn write. Data goes to a temporary file in the same folder (so the rename stays on one file system), which is
 * fsynced, renamed over the target, and the folder fsynced so the rename itself survives a power loss.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Hooks into {@link AtomicFile.commit}; tests use `beforeRename` to simulate a crash between write and rename. */
export interface AtomicWriteHooks {
  /** Called after the temporary file is written and synced, before it replaces the target. */
  readonly beforeRename?: (tempPath: string) => void;
}

/** Bytes per write call; Node refuses writes above 2 GiB, and smaller calls keep the event loop responsive. */
const WRITE_CHUNK_BYTES = 64 * 1024 * 1024;

/**
 * A file written in pieces that appears under its name only when {@link commit}ted; {@link abort} discards it. For
 * files too large to hold in memory at once (an `[N, 5N]` similarity matrix); {@link writeFileAtomic} otherwise.
 */
export class AtomicFile {
  private fd: number | undefined;

  private constructor(
    readonly path: string,
    readonly tempPath: string,
  ) {
    this.fd = openSync(tempPath, 'wx');
  }

  /** Starts the temporary file next to `path`; the name is unique so concurrent writers of one target never share it. */
  static open(path: string): AtomicFile {
    const suffix = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
    return new AtomicFile(path, join(dirname(path), `.${basename(path)}.${suffix}.tmp`));
  }

  /** False once committed or aborted. */
  get isOpen(): boolean {
    return this.fd !== undefined;
  }

  /** Appends `bytes`. */
  write(bytes: Uint8Array): void {
    const fd = this.openFd();
    for (let done = 0; done < bytes.byteLength;) {
      done += writeSync(fd, bytes, done, Math.min(WRITE_CHUNK_BYTES, bytes.byteLength - done));
    }
  }

  /** Flushes the data and renames the temporary file over {@link path}; on failure the temporary file is removed. */
  commit(hooks: AtomicWriteHooks = {}): void {
    const fd = this.openFd();
    this.fd = undefined;
    try {
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      hooks.beforeRename?.(this.tempPath);
      renameSync(this.tempPath, this.path);
    } catch (error) {
      rmSync(this.tempPath, { force: true });
      throw error;
    }
    syncDirectory(dirname(this.path));
  }

  /** Discards the temporary file. Safe to call more than once, and after {@link commit}. */
  abort(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.tempPath, { force: true });
  }

  private openFd(): number {
    if (this.fd === undefined) throw new Error(`${this.path}: the write is already committed or aborted`);
    return this.fd;
  }
}

/**
 * Writes `content` (text, as UTF-8, or byte chunks) to `path` atomically (see {@link AtomicFile}); on failure the
 * previous file is left as it was.
 */
export function writeFileAtomic(path: string, content: string | readonly Uint8Array[], hooks: AtomicWriteHooks = {}): void {
  const file = AtomicFile.open(path);
  try {
    for (const chunk of typeof content === 'string' ? [Buffer.from(content, 'utf8')] : content) file.write(chunk);
  } catch (error) {
    file.abort();
    throw error;
  }
  file.commit(hooks);
}

function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic there.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
