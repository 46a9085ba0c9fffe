import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { Logger } from '../../contracts/services';
import { UsageError } from '../../errors';
import type { PluginManifest } from '../../registry/plugin-spec';
import { checkQueryText } from '../../run/encode-query';
import { DEFAULT_EXACT_BELOW, RunRetrieval, type ImageQueryResult, type TextQueryResult } from '../../run/retrieval';
import { withOverrides } from '../options';

interface QueryCliOptions {
  set: string[];
  text?: string;
  image?: string;
  k: number;
  split?: string;
  recipe?: string;
  data?: string;
  json?: boolean;
  exactBelow: number;
}

function positiveInteger(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(value);
}

/**
 * `shnet query`: ask a trained run. `--text` retrieves the split's images for a sentence (encoded with the run's text
 * encoder and vocabulary, unknown words reported); `--image` retrieves captions for an image of the split (a number)
 * or a PNG picture (pixel-input recipes). A table for people, `--json` for scripts.
 */
export function registerQuery(program: Command, manifests: readonly PluginManifest[], logger: () => Logger): void {
  withOverrides(
    program
      .command('query')
      .argument('<target>', 'a run folder (its best checkpoint and recipe.yaml) or a checkpoint file')
      .description("retrieve a split's images for a sentence (--text), or captions for an image (--image)")
      .option('--text <sentence>', 'a caption to find images for')
      .option('--image <id|file.png>', 'an image of the split (its number) or a PNG picture, to find captions for')
      .option('-k, --k <n>', 'how many results', positiveInteger, 5)
      .option('--split <name>', "split to search (default: the recipe's evaluate.split)")
      .option('--recipe <file>', 'recipe of a checkpoint that is not inside a run folder')
      .option('--data <node>', "another data set, as YAML: '{type: shapes, args: {seed: 7}}' (same as --set data=…)")
      .option('--exact-below <n>', 'search exactly when the split has fewer vectors than this, else with an HNSW index', positiveInteger, DEFAULT_EXACT_BELOW)
      .option('--json', 'print the result as JSON'),
  ).action(async (target: string, options: QueryCliOptions) => {
    if ((options.text === undefined) === (options.image === undefined))
      throw new UsageError('shnet query takes exactly one of --text SENTENCE, --image ID|FILE');
    // Mistakes that need no model fail before one is loaded.
    if (options.text !== undefined) checkQueryText(options.text);
    const image = options.image === undefined ? undefined : /^\d+$/.test(options.image) ? Number(options.image) : options.image;
    if (typeof image === 'string' && !existsSync(image)) throw new UsageError(`--image ${image}: no such file (give an image number, or a PNG file)`);
    const overrides = [...options.set, ...(options.data !== undefined ? [`data=${options.data}`] : [])];
    const log = logger();
    const retrieval = await RunRetrieval.open(manifests, { target, recipe: options.recipe, overrides }, options.split, log, { exactBelow: options.exactBelow });
    try {
      const result = options.text !== undefined ? await retrieval.textToImages(options.text, options.k) : await retrieval.imageToCaptions(image!, options.k);
      const about = { run: target, split: retrieval.split, numImages: retrieval.numImages };
      if (options.json) process.stdout.write(`${JSON.stringify({ ...about, ...result }, null, 2)}\n`);
      else process.stdout.write('unknownWords' in result ? formatTextResult(result, about.split) : formatImageResult(result, about.split));
    } finally {
      await retrieval.close();
    }
  });
}

function formatTextResult(result: TextQueryResult, split: string): string {
  const lines = [`images of '${split}' for "${result.query}":`];
  if (result.unknownWords.length > 0) lines.push(`not in the vocabulary (read as unknown words): ${result.unknownWords.join(', ')}`);
  lines.push(
    table(
      ['rank', 'image', 'score', 'first of its captions'],
      result.hits.map((h) => [String(h.rank), String(h.image), h.score.toFixed(4), h.captions[0] ?? '']),
    ),
  );
  return `${lines.join('\n')}\n`;
}

function formatImageResult(result: ImageQueryResult, split: string): string {
  const what = typeof result.query === 'number' ? `image ${result.query}` : result.query;
  const own = (image: number) => (image === result.query ? ' (its own)' : '');
  const rows = result.hits.map((h) => [String(h.rank), String(h.caption), `${h.image}${own(h.image)}`, h.score.toFixed(4), h.text]);
  return `captions of '${split}' for ${what}:\n${table(['rank', 'caption', 'of image', 'score', 'text'], rows)}\n`;
}

/** Left-aligned columns separated by two spaces; the last column is not padded. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
