import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from 'shnet';

/** The files of one split in the reference's precomp layout (docs/datasets.md). */
export interface SplitFiles {
  /** `{split}_caps.txt`; absent for an images-only split (features without captions, for `shnet encode --images-only`). */
  readonly captions?: string;
  /** `{split}_ims.npy` (N×R×F), when the split stores its features in one array. */
  readonly features?: string;
  /** `{split}_ids.txt` and the folder of `<id>.npy` files, when features are one file per image. */
  readonly perImage?: { readonly ids: string; readonly dir: string };
  readonly classGrid: string;
  readonly labelMap: string;
  readonly categories: string;
}

/** Locates a split's files under `root`; per-image features are looked up in `featureDir` when the array is absent. */
export function splitFiles(root: string, split: string, featureDir: string | undefined): SplitFiles {
  const file = (suffix: string): string => join(root, `${split}_${suffix}`);
  const captions = existsSync(file('caps.txt')) ? file('caps.txt') : undefined;
  const array = file('ims.npy');
  const ids = file('ids.txt');
  const files = { captions, classGrid: file('segmentations.npy'), labelMap: file('seg_maps.npy'), categories: file('cat_onehots.npy') };
  if (existsSync(array)) return { ...files, features: array };
  if (featureDir !== undefined && existsSync(ids)) return { ...files, perImage: { ids, dir: featureDir } };
  throw new UsageError(
    `split '${split}' has no region features: expected ${array}` +
      (featureDir === undefined ? ' (or set featureDir for one <id>.npy per image)' : ` or ${ids} with files in ${featureDir}`),
  );
}

/** Split names in a precomp folder: those with captions (`{split}_caps.txt`) or with features (`{split}_ims.npy`). */
export function splitNames(root: string): string[] {
  const names = readdirSync(root).flatMap((f) => {
    const match = /^(.+)_(caps\.txt|ims\.npy)$/.exec(f);
    return match ? [match[1]] : [];
  });
  return [...new Set(names)].sort();
}

/** Reads a text file as lines, dropping one trailing empty line. */
export function readLines(path: string): string[] {
  const lines = readFileSync(path, 'utf8').split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Lines of a text file (a last line without a newline counts), read in blocks: a caption file can be large. */
export function countLines(path: string): number {
  const fd = openSync(path, 'r');
  try {
    const block = Buffer.alloc(1 << 20);
    let lines = 0;
    let last = 0x0a;
    for (let n = readSync(fd, block); n > 0; n = readSync(fd, block)) {
      for (let i = 0; i < n; i++) if (block[i] === 0x0a) lines++;
      last = block[n - 1];
    }
    return last === 0x0a ? lines : lines + 1;
  } finally {
    closeSync(fd);
  }
}
