/**
 * Importing weights trained by the reference implementation (3SHNet / VSE∞ PyTorch checkpoints) into a shnet model.
 *
 * Source: a `torch.save` file in any of the layouts reference code leaves (the reference's `{'model': [img_enc
 * .state_dict(), txt_enc.state_dict()], 'epoch', 'best_rsum', 'opt', 'Eiters'}`, a bare list or state dict; keys
 * prefixed `module.` when the encoders were wrapped in DataParallel, as the reference always does) or a safetensors
 * file whose keys are `img_enc.*` / `txt_enc.*` or shnet's own `image.*` / `text.*` names: checkpoint-source.ts.
 *
 * Keys: shnet's weights carry the reference's `state_dict` names relative to each encoder, so `img_enc.<k>` maps to
 * `image.<k>` and `txt_enc.<k>` to `text.<k>`; the full table is in docs/model.md, "Checkpoint keys". Values are
 * copied in the model's storage layout: each block declares, through `Block.torchLayouts()`, how its stored tensor
 * permutes into PyTorch's (Linear and GRU weights transpose, Conv2d weights permute), and the inverse is applied here.
 * BatchNorm running statistics and `num_batches_tracked` are weights like any other and are copied too.
 */
import { tf } from '../backend/tf';
import type { NamedParameter, ParameterOwner } from '../contracts/module';
import { Block } from '../nn/block';
import type { SourceCheckpoint, SourceTensor } from './checkpoint-source';

export {
  readSourceCheckpoint,
  requireCheckpointFile,
  type ReadSourceOptions,
  type SourceCheckpoint,
  type SourceEncoder,
  type SourceTensor,
} from './checkpoint-source';

/** A model block receiving weights. */
export interface ImportBlock {
  /** shnet's prefix: `image`, `text`, `loss` (the run's checkpoint names). */
  readonly name: string;
  /** The reference's prefix for the same block (`img_enc`, `txt_enc`); none when the reference has no such block. */
  readonly reference?: string;
  readonly owner: ParameterOwner;
  /**
   * Whether every weight of the block must come from the checkpoint (the encoders). A block that is not required
   * (the loss: the reference saves none) takes what the checkpoint has and keeps its initial values otherwise.
   */
  readonly required?: boolean;
  /** The block is left out of this import (`--only` another encoder): its keys in the checkpoint are set aside. */
  readonly excluded?: boolean;
}

/** One weight to copy. */
export interface ImportAssignment {
  /** Checkpoint key. */
  readonly key: string;
  /** shnet name (`image.fc.weight`). */
  readonly name: string;
  readonly parameter: NamedParameter;
  readonly source: SourceTensor;
  /** Permutation from the stored tensor to PyTorch's layout (absent when they agree). */
  readonly torchLayout?: readonly number[];
}

/** What an import would do, computed before any weight is touched. */
export interface ImportPlan {
  readonly assignments: readonly ImportAssignment[];
  /** Checkpoint keys shnet deliberately does not hold, with the reason. */
  readonly ignored: readonly { readonly key: string; readonly reason: string }[];
  /** Checkpoint keys that match no model weight. */
  readonly unexpected: readonly string[];
  /** Weights of required blocks (shnet names) the checkpoint lacks. */
  readonly missing: readonly string[];
  /** Weights of optional blocks the checkpoint lacks; they keep their initial values. */
  readonly kept: readonly string[];
  /** Per block: its weights, and how many are imported. */
  readonly blocks: readonly { readonly name: string; readonly weights: number; readonly imported: number; readonly excluded: boolean }[];
  /** Keys present on both sides whose shapes or dtypes disagree. */
  readonly misShaped: readonly { readonly key: string; readonly problem: string }[];
}

/**
 * Reference keys that have no counterpart in shnet's model by design. Ignored only when the model lacks them.
 */
export const REFERENCE_ONLY_KEYS: readonly { readonly pattern: RegExp; readonly reason: string }[] = [
  { pattern: /^txt_enc\.bert\.pooler\./, reason: "BERT's pooler: 3SHNet never reads the pooled [CLS] output, so shnet's BERT has none" },
  { pattern: /^txt_enc\.bert\.embeddings\.position_ids$/, reason: 'position-id buffer 0..max_positions−1, recomputed' },
  { pattern: /^optimizer\./, reason: 'optimizer state is not imported; training restarts its moments' },
];

/**
 * Matches checkpoint keys to the blocks' weights and checks shapes and dtypes. Pure: nothing is assigned.
 */
export function planImport(checkpoint: SourceCheckpoint, blocks: readonly ImportBlock[]): ImportPlan {
  const targets = new Map<string, { parameter: NamedParameter; torchLayout?: readonly number[]; block: ImportBlock }>();
  const byReferenceKey = new Map<string, string>(); // reference key → shnet name
  const setAside = blocks.filter((b) => b.excluded).flatMap((b) => [`${b.name}.`, ...(b.reference ? [`${b.reference}.`] : [])]);
  for (const block of blocks.filter((b) => !b.excluded)) {
    const layouts = block.owner instanceof Block ? block.owner.torchLayouts() : new Map<string, readonly number[]>();
    for (const parameter of block.owner.parameters()) {
      const name = `${block.name}.${parameter.name}`;
      targets.set(name, { parameter, torchLayout: layouts.get(parameter.name), block });
      if (block.reference) byReferenceKey.set(`${block.reference}.${parameter.name}`, name);
    }
  }
  const assignments: ImportAssignment[] = [];
  const ignored: { key: string; reason: string }[] = [];
  const unexpected: string[] = [];
  const misShaped: { key: string; problem: string }[] = [];
  const matched = new Set<string>();
  for (const [key, source] of checkpoint.tensors) {
    const name = byReferenceKey.get(key) ?? (targets.has(key) ? key : undefined);
    const excludedBy = setAside.find((prefix) => key.startsWith(prefix));
    if (name === undefined && excludedBy !== undefined) {
      ignored.push({
        key,
        reason: `not imported: ${blocks.find((b) => excludedBy === `${b.name}.` || excludedBy === `${b.reference}.`)!.name} is left out (--only)`,
      });
      continue;
    }
    if (name === undefined) {
      const known = REFERENCE_ONLY_KEYS.find((k) => k.pattern.test(key));
      if (known) ignored.push({ key, reason: known.reason });
      else unexpected.push(key);
      continue;
    }
    if (matched.has(name)) {
      misShaped.push({ key, problem: `a second tensor for ${name}` });
      continue;
    }
    matched.add(name);
    const { parameter, torchLayout } = targets.get(name)!;
    const stored = parameter.variable.shape;
    const wanted = torchLayout ? torchLayout.map((axis) => stored[axis]) : stored;
    const isFloatTarget = parameter.variable.dtype === 'float32';
    if (source.shape.length !== wanted.length || source.shape.some((d, i) => d !== wanted[i])) {
      misShaped.push({ key, problem: `[${source.shape.join(', ')}] in the checkpoint, [${wanted.join(', ')}] in the model (${name})` });
    } else if (source.isFloat !== isFloatTarget) {
      misShaped.push({ key, problem: `${source.dtype} in the checkpoint, ${parameter.variable.dtype} in the model (${name})` });
    } else {
      assignments.push({ key, name, parameter, source, ...(torchLayout ? { torchLayout } : {}) });
    }
  }
  const absent = [...targets.keys()].filter((name) => !matched.has(name));
  const required = (name: string) => targets.get(name)!.block.required !== false;
  const summary = blocks.map((block) => {
    const names = [...targets.entries()].filter(([, t]) => t.block === block).map(([name]) => name);
    const imported = assignments.filter((a) => targets.get(a.name)!.block === block).length;
    return { name: block.name, weights: block.excluded ? block.owner.parameters().length : names.length, imported, excluded: block.excluded ?? false };
  });
  return { assignments, ignored, unexpected, missing: absent.filter(required), kept: absent.filter((n) => !required(n)), misShaped, blocks: summary };
}

/** Weights of the model the import cannot fill: missing from the checkpoint, or there with another shape or dtype. */
export function unfilledCount(plan: ImportPlan): number {
  return plan.missing.length + plan.misShaped.length;
}

/** Number of problems `--strict` refuses: unexpected, missing and mis-shaped keys. */
export function problemCount(plan: ImportPlan): number {
  return plan.unexpected.length + plan.missing.length + plan.misShaped.length;
}

/** Copies every planned weight into its variable, converting PyTorch's layout into the stored one. */
export function applyImport(plan: ImportPlan): void {
  for (const { parameter, source, torchLayout } of plan.assignments) {
    const variable = parameter.variable;
    tf.tidy(() => {
      const values = source.read();
      const torch = tf.tensor(values instanceof Float32Array ? values : Int32Array.from(values), [...source.shape], variable.dtype as 'float32' | 'int32');
      variable.assign(torchLayout ? torch.transpose(inversePermutation(torchLayout)) : torch);
    });
  }
}

/**
 * The blocks' weights as the reference's `state_dict` would hold them: reference key (or shnet name, for blocks
 * without a reference prefix) → PyTorch-layout shape and values. The inverse of an import.
 */
export function referenceStateDict(blocks: readonly ImportBlock[]): Map<string, { shape: number[]; data: Float32Array | Int32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array | Int32Array }>();
  for (const block of blocks) {
    const layouts = block.owner instanceof Block ? block.owner.torchLayouts() : new Map<string, readonly number[]>();
    for (const p of block.owner.parameters()) {
      const perm = layouts.get(p.name);
      const torch = tf.tidy(() => (perm ? p.variable.transpose([...perm]) : p.variable.clone()));
      out.set(`${block.reference ?? block.name}.${p.name}`, { shape: torch.shape, data: torch.dataSync() as Float32Array | Int32Array });
      torch.dispose();
    }
  }
  return out;
}

/**
 * The plan as report lines: where the weights came from, one line per block (imported of its weights), then every
 * key that was not imported as it is, by name and why: set aside, unexpected, missing, mis-shaped.
 */
export function describePlan(plan: ImportPlan, checkpoint: SourceCheckpoint): string[] {
  const lines = [`${checkpoint.path} (${checkpoint.layout}): ${plan.assignments.length} weights imported, ${problemCount(plan)} problems`];
  for (const block of plan.blocks) {
    if (block.excluded) lines.push(`  ${block.name}: left out (--only), ${block.weights} weights keep their initial values`);
    else if (block.weights > 0) lines.push(`  ${block.name}: ${block.imported} of ${block.weights} weights imported`);
  }
  const section = (title: string, items: readonly string[]) => {
    if (items.length > 0) lines.push(`${title} (${items.length}):`, ...items.map((item) => `  ${item}`));
  };
  section(
    'ignored',
    plan.ignored.map((i) => `${i.key}: ${i.reason}`),
  );
  section('in the checkpoint, not in the model', plan.unexpected);
  section('in the model, not in the checkpoint', plan.missing);
  section('not in the checkpoint, initial values kept', plan.kept);
  section(
    'shape or dtype mismatch',
    plan.misShaped.map((m) => `${m.key}: ${m.problem}`),
  );
  return lines;
}

/** The permutation that undoes `perm`. */
function inversePermutation(perm: readonly number[]): number[] {
  const out = new Array<number>(perm.length);
  perm.forEach((axis, i) => (out[axis] = i));
  return out;
}
