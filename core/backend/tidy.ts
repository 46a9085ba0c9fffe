/**
 * Tensor ownership beyond `tf.tidy`: `tf.tidy` around pure computations, and {@link disposeAll} where ownership
 * ends for tensors held in structures (model outputs, parameter maps, batches).
 */
import { tf } from './tf';

/**
 * Disposes every tensor found in the given trees (arrays, plain objects, Maps, Sets), each once even if it is
 * reachable twice. Disposed tensors and non-tensor leaves are skipped. Returns how many tensors it disposed.
 */
export function disposeAll(...trees: unknown[]): number {
  const seen = new Set<unknown>();
  let disposed = 0;
  const visit = (node: unknown): void => {
    if (node == null || typeof node !== 'object' || seen.has(node)) return;
    seen.add(node);
    if (node instanceof tf.Tensor) {
      if (!node.isDisposed) {
        node.dispose();
        disposed++;
      }
    } else if (node instanceof Map) {
      node.forEach(visit);
    } else if (Array.isArray(node) || node instanceof Set) {
      node.forEach(visit);
    } else if (Object.getPrototypeOf(node) === Object.prototype || Object.getPrototypeOf(node) === null) {
      Object.values(node).forEach(visit);
    }
  };
  trees.forEach(visit);
  return disposed;
}
