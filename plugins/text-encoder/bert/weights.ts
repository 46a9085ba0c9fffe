import { existsSync } from 'node:fs';
import { FLOAT_DTYPES, tf, UsageError, withSafetensors } from 'shnet';

import type { BertModel } from './model';

/** A file tensor that was not loaded, and why. */
export interface SkippedWeight {
  readonly name: string;
  readonly reason: string;
}

/** What {@link loadBertWeights} did. */
export interface BertLoadReport {
  readonly file: string;
  /** Prefix stripped from the file's keys (`bert.` in `BertForPreTraining` checkpoints such as bert-base-uncased). */
  readonly prefix: string;
  /** Weights loaded (every weight of the model). */
  readonly loaded: number;
  /** File tensors deliberately not loaded (pooler, position-id buffer, pre-training heads). */
  readonly skipped: readonly SkippedWeight[];
}

/** File tensors that are known and deliberately not loaded, by key (after the prefix is stripped). */
function skipReason(key: string): string | undefined {
  if (key.startsWith('pooler.')) return 'pooler: 3SHNet reads every token state, never the pooled [CLS] output';
  if (key === 'embeddings.position_ids') return 'buffer 0..max_positions−1, recomputed';
  return undefined;
}

/** Names listed per category in an error before "… and N more". */
const LIST_LIMIT = 25;

/**
 * Loads a Hugging Face BERT checkpoint (`model.safetensors`) into `model`, checking the whole file against the
 * model before reading any weight: every weight must be present with its PyTorch shape, and every file tensor
 * must be a weight or a known skip; otherwise one error lists the missing, unexpected and mis-shaped keys by name.
 *
 * Key mapping: keys equal the model's `parameters()` names, optionally under a `bert.` prefix (then tensors outside
 * it, such as the `cls.*` pre-training heads, are skipped); legacy `LayerNorm.gamma` / `.beta` read as `.weight` /
 * `.bias`, as transformers does. PyTorch Linear weights are [out, in]; the model stores [in, out] and the loader
 * transposes (through the blocks' `torchLayouts()`). F16/BF16/F64 tensors convert to float32.
 */
export function loadBertWeights(model: BertModel, file: string): BertLoadReport {
  if (!existsSync(file)) {
    throw new UsageError(`${file}: not found (the BERT encoder reads model.safetensors; convert a pytorch_model.bin with safetensors' torch.save_file)`);
  }
  const params = model.parameters();
  const layouts = model.torchLayouts();
  const expected = new Map(
    params.map((p) => {
      const perm = layouts.get(p.name);
      return [p.name, { param: p, perm, shape: perm ? perm.map((axis) => p.variable.shape[axis]) : p.variable.shape }] as const;
    }),
  );
  return withSafetensors(file, (st) => {
    const prefix = [...st.entries.keys()].some((k) => k.startsWith('bert.embeddings.')) ? 'bert.' : '';
    const byKey = new Map<string, string>(); // model key → file key
    const skipped: SkippedWeight[] = [];
    const unexpected: string[] = [];
    for (const fileKey of st.entries.keys()) {
      if (!fileKey.startsWith(prefix)) {
        skipped.push({ name: fileKey, reason: `outside the '${prefix}' encoder (pre-training head)` });
        continue;
      }
      const key = fileKey
        .slice(prefix.length)
        .replace(/LayerNorm\.gamma$/, 'LayerNorm.weight')
        .replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
      const reason = skipReason(key);
      if (reason) skipped.push({ name: fileKey, reason });
      else if (expected.has(key)) byKey.set(key, fileKey);
      else unexpected.push(fileKey);
    }
    const missing = [...expected.keys()].filter((k) => !byKey.has(k));
    const misShaped: string[] = [];
    for (const [key, fileKey] of byKey) {
      const entry = st.entries.get(fileKey)!;
      const want = expected.get(key)!.shape;
      if (entry.shape.length !== want.length || entry.shape.some((d, i) => d !== want[i])) {
        misShaped.push(`${fileKey} [${entry.shape.join(', ')}] (expected [${want.join(', ')}])`);
      } else if (!FLOAT_DTYPES.includes(entry.dtype)) {
        misShaped.push(`${fileKey} dtype ${entry.dtype} (expected a float type)`);
      }
    }
    if (missing.length + unexpected.length + misShaped.length > 0) {
      const list = (what: string, names: string[]) =>
        names.length === 0
          ? []
          : [
              `${what} (${names.length}): ${names.slice(0, LIST_LIMIT).join(', ')}${names.length > LIST_LIMIT ? `, … and ${names.length - LIST_LIMIT} more` : ''}`,
            ];
      throw new UsageError(
        [
          `${file}: the weights do not match the BERT model built from config.json`,
          ...list('missing', missing),
          ...list('unexpected', unexpected),
          ...list('wrong shape or type', misShaped),
        ].join('\n  '),
      );
    }
    for (const [key, fileKey] of byKey) {
      const { param, perm, shape } = expected.get(key)!;
      const values = st.readFloat32(fileKey);
      tf.tidy(() => {
        const torch = tf.tensor(values, [...shape], 'float32');
        param.variable.assign(perm ? torch.transpose(inverse(perm)) : torch);
      });
    }
    return { file, prefix, loaded: byKey.size, skipped };
  });
}

/** The permutation that undoes `perm`. */
function inverse(perm: readonly number[]): number[] {
  const out = new Array<number>(perm.length);
  perm.forEach((axis, i) => (out[axis] = i));
  return out;
}
