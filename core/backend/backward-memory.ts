/**
 * Frees memory during the backward pass as soon as tfjs no longer needs it. tfjs-core's backward pass
 * (`engine.gradients`, under `tf.grad`, `tf.variableGrads`, …) walks the tape from the loss back to the inputs and
 * keeps, until the very end, every tensor the forward pass saved for it and every gradient it computed on the way:
 * the peak of a training step is then all the saved activations plus all the intermediate gradients at once (at
 * batch 32 the 3SHNet image encoder's step peaked at 3.0 GiB of wasm heap, most of it such gradients).
 *
 * With this installed, once a tape node's gradient has been taken, its saved tensors and the gradients of its
 * outputs are released — nothing reads them again: a node's outputs are consumed by that node's gradient alone, and
 * saved tensors belong to one node. The arithmetic is untouched (the same kernels on the same values in the same
 * order), so gradients are bit for bit those of tfjs's own pass (tested); only the peak changes.
 *
 * What is never released early: anything created before the backward pass (weights, activations, a `dy` the caller
 * passed), a gradient that may have a second owner (returned for two inputs, or a node's own dy handed back), a
 * saved tensor a gradient function handed on as a gradient, and everything in nested (higher-order) gradients, whose
 * tape the outer pass still needs. tfjs releases all of these at the end of the pass, as before.
 */
import type * as tfjs from '@tensorflow/tfjs';

/** The part of a tfjs tape node this module touches (tfjs-core 4.22 `TapeNode`). */
interface TapeNode {
  outputs: tfjs.Tensor[];
  saved?: tfjs.Tensor[];
  gradient?: (dys: (tfjs.Tensor | null)[]) => Record<string, () => tfjs.Tensor>;
}

type Engine = ReturnType<typeof tfjs.engine>;
type Gradients = (f: () => tfjs.Tensor, xs: tfjs.Tensor[], dy?: tfjs.Tensor, allowNoGradients?: boolean) => { value: tfjs.Tensor; grads: tfjs.Tensor[] };

/** The engine internals involved (tfjs-core 4.22 `Engine`). */
interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  nextTensorId(): number;
  gradients: Gradients;
}

const INSTALLED = Symbol.for('shnet.backwardMemory');

/** Whether release is on (it is by default once installed); for tests that compare against tfjs's own pass. */
let enabled = true;

/** Turns early release on or off for the process; returns the previous setting. */
export function setBackwardRelease(on: boolean): boolean {
  const previous = enabled;
  enabled = on;
  return previous;
}

/** Installs early release on `engine` (once; a second call is a no-op). */
export function installBackwardRelease(engine: Engine): void {
  const internals = engine as unknown as EngineInternals & { [INSTALLED]?: true };
  if (internals[INSTALLED]) return;
  const original = internals.gradients;
  internals.gradients = function gradients(this: EngineInternals, f: () => tfjs.Tensor, xs: tfjs.Tensor[], dy?: tfjs.Tensor, allowNoGradients?: boolean) {
    // Nested calls record onto the outer tape, which the outer backward pass still walks.
    if (!enabled || this.state.gradientDepth > 0) return original.call(this, f, xs, dy, allowNoGradients);
    const release = new Release(this);
    const forward = () => {
      const y = f();
      release.watch(this.state.activeTape ?? []);
      return y;
    };
    return original.call(this, forward, xs, dy, allowNoGradients);
  };
  internals[INSTALLED] = true;
}

/** The bookkeeping of one backward pass. */
class Release {
  /** Tensors with an id above this were created by the backward pass. */
  private boundary = Infinity;
  /** Tensors a gradient function returned, and how often: returned once, a gradient has one owner. */
  private readonly returned = new Map<tfjs.Tensor, number>();
  /** Returned tensors that must stay: returned twice, or a node's own dy handed back. */
  private readonly shared = new Set<tfjs.Tensor>();
  /** What the node whose gradient ran last leaves behind, released when the next node's gradient starts. */
  private pending: { dys: (tfjs.Tensor | null)[]; saved: tfjs.Tensor[] } | null = null;

  constructor(private readonly engine: EngineInternals) {}

  /** Wraps the gradient of every node of the tape the forward pass recorded. */
  watch(tape: TapeNode[]): void {
    this.boundary = this.engine.nextTensorId();
    for (const node of tape) {
      const gradient = node.gradient;
      if (gradient == null) continue;
      node.gradient = (dys) => {
        this.releasePending();
        const thunks = gradient(dys);
        this.pending = { dys, saved: node.saved ?? [] };
        const wrapped: Record<string, () => tfjs.Tensor> = {};
        for (const [name, thunk] of Object.entries(thunks)) {
          wrapped[name] = () => {
            const dx = thunk();
            const count = (this.returned.get(dx) ?? 0) + 1;
            this.returned.set(dx, count);
            if (count > 1 || dys.includes(dx)) this.shared.add(dx);
            return dx;
          };
        }
        return wrapped;
      };
    }
  }

  /** The backward pass has taken every input gradient of the previous node: its dys and saved tensors are done. */
  private releasePending(): void {
    const done = this.pending;
    this.pending = null;
    if (done == null || this.engine.state.gradientDepth > 0) return;
    for (const dy of done.dys) if (dy != null && dy.id > this.boundary && !this.shared.has(dy)) dy.dispose();
    for (const t of done.saved) if (!this.returned.has(t)) t.dispose();
  }
}
