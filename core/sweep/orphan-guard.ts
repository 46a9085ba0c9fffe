/**
 * Preloaded (`node -r`) into every trial process a sweep starts. The parent holds the write end of the child's
 * stdin; when the parent dies, even by SIGKILL, the pipe closes and the trial stops (SIGTERM: the run ends KILLED
 * after its current step) instead of training on unwatched while another worker resumes the same run folder.
 */
import { isMainThread } from 'node:worker_threads';

const GRACE_MS = 20_000;

// Worker threads (the threaded wasm backend's pool) load `-r` modules too, and their process.stdin is an empty stream
// that ends at once: only the main thread watches the parent.
if (isMainThread && process.stdin && !process.stdin.isTTY) {
  const stop = () => {
    process.kill(process.pid, 'SIGTERM');
    setTimeout(() => process.exit(143), GRACE_MS).unref();
  };
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
  // Reading stdin must not keep the run alive once its work is done.
  (process.stdin as unknown as { unref?: () => void }).unref?.();
}
