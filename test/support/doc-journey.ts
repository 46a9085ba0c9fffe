/**
 * Executes the user journeys written in docs/*.md, so the documented commands are the tested ones.
 *
 * Conventions of a journey page (fenced-block info strings):
 * - ```yaml file=PATH       the block is written to PATH (relative to the work folder) before any command runs;
 * - ```sh journey [exit=N]  the block's commands run with bash (`set -eo pipefail`), in page order, in the work folder;
 *                           the last command's exit code must be N (default 0);
 * - ```text output          the exact output (stdout then stderr, trimmed) of the journey block just before it.
 * Other blocks (server set-up, illustrations) are prose and never run.
 *
 * Commands are rewritten in two ways only: `npx shnet` becomes the `shnet` of this checkout (a shim on PATH that
 * runs dist/core/cli/main.js), and every `shnet run …` command gets the caller's `--set` overrides appended — that is
 * how a test shrinks a documented run to seconds and how the screenshot script sizes it, while the page shows the
 * real command. The work folder holds links to the checkout's `recipes/` and `dist/`, so the page's relative paths
 * (`extends: ../recipes/…`, `$schema=../dist/…`) resolve as they do in a checkout.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CLI } from './cli';
import { REPO_ROOT } from './python-env';

export interface DocBlock {
  readonly lang: string;
  /** Info-string attributes: `journey`, `output`, `file=PATH`, `exit=N`. */
  readonly attrs: ReadonlyMap<string, string>;
  readonly text: string;
}

/** Every fenced block of a markdown page, with its info-string attributes. */
export function docBlocks(markdown: string): DocBlock[] {
  const blocks: DocBlock[] = [];
  for (const match of markdown.matchAll(/^```(\w*)([^\n]*)\n([\s\S]*?)^```$/gm)) {
    const attrs = new Map<string, string>();
    for (const word of match[2].trim().split(/\s+/).filter(Boolean)) {
      const eq = word.indexOf('=');
      attrs.set(eq < 0 ? word : word.slice(0, eq), eq < 0 ? '' : word.slice(eq + 1));
    }
    blocks.push({ lang: match[1], attrs, text: match[3] });
  }
  return blocks;
}

/** One executable step: a `journey` block and the `output` block that follows it, if any. */
export interface JourneyStep {
  readonly script: string;
  readonly expectedExit: number;
  readonly expectedOutput?: string;
}

export interface Journey {
  /** `file=` blocks: path → content. */
  readonly files: ReadonlyMap<string, string>;
  readonly steps: readonly JourneyStep[];
}

export function journeyOf(markdown: string): Journey {
  const blocks = docBlocks(markdown);
  const files = new Map<string, string>();
  const steps: JourneyStep[] = [];
  blocks.forEach((block, i) => {
    const file = block.attrs.get('file');
    if (file !== undefined) files.set(file, block.text);
    if (!block.attrs.has('journey')) return;
    const next = blocks[i + 1];
    steps.push({
      script: block.text,
      expectedExit: Number(block.attrs.get('exit') ?? 0),
      expectedOutput: next?.attrs.has('output') ? next.text.trim() : undefined,
    });
  });
  return { files, steps };
}

/** Joins `\`-continued lines, so a rewrite sees each command whole. */
function logicalLines(script: string): string[] {
  return script.replace(/\\\n\s*/g, ' ').split('\n');
}

/** Applies the two rewrites (see the file comment) to a journey block. */
export function rewriteScript(script: string, runOverrides: readonly string[]): string {
  const flags = runOverrides.map((o) => ` --set ${shellQuote(o)}`).join('');
  return logicalLines(script)
    .map((line) => line.replace(/\bnpx shnet\b/g, 'shnet'))
    .map((line) => (/^\s*shnet run\b/.test(line) ? `${line.replace(/\s+$/, '')}${flags}` : line))
    .join('\n');
}

export function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A fresh work folder holding links to `recipes/` and `dist/`, and a `shnet` shim in `bin/`. */
export function journeyFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'shnet-journey-'));
  symlinkSync(join(REPO_ROOT, 'recipes'), join(dir, 'recipes'));
  symlinkSync(join(REPO_ROOT, 'dist'), join(dir, 'dist'));
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin', 'shnet'), `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(CLI)} "$@"\n`);
  chmodSync(join(dir, 'bin', 'shnet'), 0o755);
  return dir;
}

/** Writes a journey's `file=` blocks into `dir`, under the sub-folder `under` when the page says they live there. */
export function writeJourneyFiles(dir: string, journey: Journey, under = ''): void {
  for (const [path, text] of journey.files) {
    const target = join(dir, under, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);
  }
}

export interface StepResult {
  readonly script: string;
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

/** Runs one rewritten step in `dir` with `env` added (e.g. `MLFLOW_TRACKING_URI`). */
export function runStep(dir: string, script: string, env: NodeJS.ProcessEnv, timeoutMs: number): StepResult {
  const started = process.hrtime.bigint();
  const result = spawnSync('bash', ['-c', `set -eo pipefail\n${script}`], {
    cwd: dir,
    env: { ...process.env, ...env, PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}` },
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { script, status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr, seconds };
}
