/**
 * Executes the commands written in README.md and docs/*.md, so the documented commands are the tested ones.
 *
 * Every fenced block of a page says what it is in its info string (checked by test/docs/doc-blocks.test.ts):
 * - ```yaml file=PATH       a file, written to PATH (relative to the work folder) before any command runs;
 * - ```sh journey [exit=N]  commands, run with bash (`set -eo pipefail`) in page order in the work folder; the last
 *                           command's exit code must be N (default 0);
 * - ```sh journey serves=P  commands that leave a server listening on port P (in the background with `&`, or in the
 *                           foreground, like `mlflow ui`): the test waits until `http://127.0.0.1:P/health` answers,
 *                           checks the server, and stops it;
 * - ```text output          the exact output (stdout then stderr, trimmed) of the journey block just before it;
 * - ```text example         what the journey block just before it printed (stdout) on a full-size run, where the
 *                           test's shrunk run prints other numbers: not compared by the test, written by a script
 *                           (test/support/make-use-examples.ts) so that it stays the output of the command above it;
 * - ```sh not-run="REASON"  commands that no test runs, and why (a benchmark of minutes, a second machine, a value
 *                           the reader fills in); the reason is required;
 * - any other language (`yaml`, `ts`, `text`, `json`) is an example or an illustration, never run. A block without a
 *   language, a command block with neither `journey` nor `not-run`, and a `text` block that reads as commands are
 *   errors, so a new command block cannot be left untested by accident.
 *
 * Blocks of one journey share a shell's state as a terminal would: a variable set in one block (`RUN=…`, `export …`)
 * is set in the next, so is the current folder, and a server started in one is reachable in the next. Commands are rewritten in four ways only:
 * - `npx shnet` becomes the `shnet` of this checkout (a shim on PATH that runs dist/core/cli/main.js);
 * - every `shnet run …` command gets the caller's `--set` overrides appended — how a test shrinks a documented run to
 *   seconds (and the screenshot script sizes it) while the page shows the real command;
 * - `npm ci` is dropped: the checkout under test is the installed one;
 * - a documented port (`127.0.0.1:P`, `--port P`: MLflow's 5000, and the port of any `serves=P` block) becomes a free
 *   port, so journeys run at once on one machine do not collide.
 * The work folder holds links to the checkout's `recipes/` and `dist/`, so the page's relative paths
 * (`extends: ../recipes/…`, `$schema=../dist/…`) resolve as they do in a checkout, and `bin/` (the shim and the test
 * venv's `mlflow`) is first on PATH.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CLI } from './cli';
import { freePort } from './free-port';
import { REPO_ROOT } from './python-env';

export interface DocBlock {
  readonly lang: string;
  /** Info-string attributes: `journey`, `output`, `example`, `file=PATH`, `exit=N`, `serves=PORT`, `not-run="REASON"`. */
  readonly attrs: ReadonlyMap<string, string>;
  readonly text: string;
  /** Line of the opening fence (1-based), for messages. */
  readonly line: number;
}

/** Languages whose blocks are commands. */
export const COMMAND_LANGUAGES: readonly string[] = ['sh', 'bash', 'shell', 'console'];

/** Info-string words: `key`, `key=value` or `key="a value with spaces"`. */
function parseAttributes(info: string): Map<string, string> {
  const attrs = new Map<string, string>();
  for (const match of info.matchAll(/([\w-]+)(?:=(?:"([^"]*)"|(\S*)))?/g)) attrs.set(match[1], match[2] ?? match[3] ?? '');
  return attrs;
}

/** Every fenced block of a markdown page, with its language and info-string attributes. */
export function docBlocks(markdown: string): DocBlock[] {
  const blocks: DocBlock[] = [];
  for (const match of markdown.matchAll(/^```(\w*)([^\n]*)\n([\s\S]*?)^```$/gm)) {
    const line = markdown.slice(0, match.index).split('\n').length;
    blocks.push({ lang: match[1], attrs: parseAttributes(match[2]), text: match[3], line });
  }
  return blocks;
}

/** A line that starts a command a reader would type: the tools the pages use. */
const COMMAND_LINE = /^\s*(\$ )?(npx |npm |shnet |mlflow |pip |export |curl |node |python3? )/;
/** Placeholders a synopsis uses: `[--flag]`, `A|B`, `…`, `<id>`. */
const PLACEHOLDER = /[[\]|…<>]/;

/** What is wrong with a page's blocks under the convention of this file (empty when nothing). */
export function blockProblems(markdown: string, page: string): string[] {
  const problems: string[] = [];
  const blocks = docBlocks(markdown);
  blocks.forEach((block, i) => {
    const where = `${page}:${block.line}`;
    if (block.lang === '') {
      problems.push(`${where}: a block without a language: say what it is (sh journey, sh not-run="why", yaml, ts, text)`);
      return;
    }
    if (COMMAND_LANGUAGES.includes(block.lang)) {
      const reason = block.attrs.get('not-run');
      if (block.attrs.has('journey') && reason !== undefined) problems.push(`${where}: a block is either journey or not-run, not both`);
      else if (!block.attrs.has('journey') && reason === undefined) {
        problems.push(`${where}: a command block that no test runs: mark it \`${block.lang} journey\` (and run its page) or \`${block.lang} not-run="why"\``);
      } else if (reason !== undefined && reason.trim().length < 10) problems.push(`${where}: not-run needs a reason a reader can use, got "${reason}"`);
      return;
    }
    for (const kind of ['output', 'example']) {
      if (block.attrs.has(kind) && !blocks[i - 1]?.attrs.has('journey')) problems.push(`${where}: an ${kind} block must follow a journey block`);
    }
    const lines = block.text.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
    if (
      !block.attrs.has('output') &&
      !block.attrs.has('example') &&
      lines.length > 0 &&
      lines.every((l) => COMMAND_LINE.test(l)) &&
      !PLACEHOLDER.test(block.text)
    ) {
      problems.push(`${where}: a ${block.lang} block that reads as commands: mark it sh journey or sh not-run="why"`);
    }
  });
  return problems;
}

/** One executable step: a `journey` block and the `output` block that follows it, if any. */
export interface JourneyStep {
  readonly script: string;
  readonly expectedExit: number;
  readonly expectedOutput?: string;
  /** The port the step leaves a server on (`serves=P`). */
  readonly serves?: number;
  /** Where the block is, `page:line`. */
  readonly where: string;
}

export interface Journey {
  /** `file=` blocks: path → content. */
  readonly files: ReadonlyMap<string, string>;
  readonly steps: readonly JourneyStep[];
}

export function journeyOf(markdown: string, page = 'page'): Journey {
  const blocks = docBlocks(markdown);
  const files = new Map<string, string>();
  const steps: JourneyStep[] = [];
  blocks.forEach((block, i) => {
    const file = block.attrs.get('file');
    if (file !== undefined) files.set(file, block.text);
    if (!block.attrs.has('journey')) return;
    const next = blocks[i + 1];
    const serves = block.attrs.get('serves');
    steps.push({
      script: block.text,
      expectedExit: Number(block.attrs.get('exit') ?? 0),
      expectedOutput: next?.attrs.has('output') ? next.text.trim() : undefined,
      ...(serves !== undefined ? { serves: Number(serves) } : {}),
      where: `${page}:${block.line}`,
    });
  });
  return { files, steps };
}

/** The journeys of several pages, run in one folder in this order (files of all pages, then steps in page order). */
export function journeyOfPages(pages: readonly string[]): Journey {
  const journeys = pages.map((page) => journeyOf(readFileSync(join(REPO_ROOT, page), 'utf8'), page));
  return { files: new Map(journeys.flatMap((j) => [...j.files])), steps: journeys.flatMap((j) => j.steps) };
}

/** Joins `\`-continued lines, so a rewrite sees each command whole. */
function logicalLines(script: string): string[] {
  return script.replace(/\\\n\s*/g, ' ').split('\n');
}

/** The port the pages document for MLflow servers; rewritten to a free one. */
export const DOCUMENTED_PORT = 5000;

/**
 * Applies the rewrites (see the file comment) to a journey block. `ports` maps documented ports to the ports used
 * instead; a number is the port used for {@link DOCUMENTED_PORT}.
 */
export function rewriteScript(script: string, runOverrides: readonly string[], ports: number | ReadonlyMap<number, number> = DOCUMENTED_PORT): string {
  const flags = runOverrides.map((o) => ` --set ${shellQuote(o)}`).join('');
  const portMap = typeof ports === 'number' ? new Map([[DOCUMENTED_PORT, ports]]) : ports;
  const rewritePorts = (line: string) =>
    [...portMap].reduce((text, [documented, used]) => text.replace(new RegExp(`(127\\.0\\.0\\.1:|--port )${documented}\\b`, 'g'), `$1${used}`), line);
  return logicalLines(script)
    .map((line) => line.replace(/\bnpx shnet\b/g, 'shnet'))
    .map((line) => line.replace(/^(\s*)npm ci( &&\s*|\s*$)/, '$1'))
    .map(rewritePorts)
    .map((line) => (/^\s*shnet run\b/.test(line) ? `${line.replace(/\s+$/, '')}${flags}` : line))
    .join('\n');
}

/** A free port for each port a journey documents: {@link DOCUMENTED_PORT}, and the port of every `serves=P` step. */
export async function journeyPorts(journey: Journey): Promise<Map<number, number>> {
  const documented = new Set([DOCUMENTED_PORT, ...journey.steps.flatMap((s) => (s.serves === undefined ? [] : [s.serves]))]);
  const ports = new Map<number, number>();
  for (const port of documented) {
    let free = await freePort();
    while ([...ports.values()].includes(free)) free = await freePort();
    ports.set(port, free);
  }
  return ports;
}

export function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * A fresh work folder holding links to `recipes/` and `dist/`, and `bin/` with a `shnet` shim and, when the test venv
 * exists, its `mlflow` (what `pip install mlflow==…` of docs/recipes.md step 0 puts on a reader's PATH).
 */
export function journeyFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'shnet-journey-'));
  symlinkSync(join(REPO_ROOT, 'recipes'), join(dir, 'recipes'));
  symlinkSync(join(REPO_ROOT, 'dist'), join(dir, 'dist'));
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin', 'shnet'), `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(CLI)} "$@"\n`);
  chmodSync(join(dir, 'bin', 'shnet'), 0o755);
  return dir;
}

/** Puts the test venv's `mlflow` on the work folder's PATH (`python` is the venv's interpreter). */
export function linkMlflow(dir: string, python: string): void {
  const mlflow = join(dirname(python), 'mlflow');
  if (existsSync(mlflow) && !existsSync(join(dir, 'bin', 'mlflow'))) symlinkSync(mlflow, join(dir, 'bin', 'mlflow'));
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

/** A server a `serves=P` step left running. */
export interface ServedStep {
  readonly url: string;
  /** What the step printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * The shell a journey's blocks run in, one after another, in the work folder: exported variables and the current
 * folder carry over from block to block, output goes to files (a server started with `&` keeps writing without holding the test), and every
 * block runs in its own process group, which {@link stop} ends — servers a block started included.
 */
export class JourneyShell {
  private readonly state: string;
  private readonly groups = new Set<number>();
  private count = 0;

  constructor(
    readonly dir: string,
    private readonly env: NodeJS.ProcessEnv = {},
  ) {
    this.state = mkdtempSync(join(tmpdir(), 'shnet-journey-state-'));
    const [vars, folder] = [shellQuote(join(this.state, 'env')), shellQuote(join(this.state, 'cwd'))];
    writeFileSync(join(this.state, 'save'), `declare -p | grep -Ev ${shellQuote(SHELL_OWN_VARIABLES)} > ${vars}\npwd > ${folder}\n`);
  }

  /** A variable as the last block left it exported (or as the journey started). */
  exported(name: string): string | undefined {
    const file = join(this.state, 'env');
    if (existsSync(file)) {
      const match = new RegExp(`^declare -[a-zA-Z]*x[a-zA-Z]* ${name}="((?:[^"\\\\]|\\\\.)*)"$`, 'm').exec(readFileSync(file, 'utf8'));
      if (match) return match[1].replace(/\\(.)/g, '$1');
    }
    return this.env[name];
  }

  /** Runs a rewritten block to its end (a server it starts with `&` keeps running). */
  run(script: string, timeoutMs: number): StepResult {
    const { out, err, wrapped } = this.prepare(script);
    const started = process.hrtime.bigint();
    const [stdout, stderr] = [openSync(out, 'w'), openSync(err, 'w')];
    let result;
    try {
      // setsid: the block leads a process group of its own, so stop() also ends what it left running.
      result = spawnSync('setsid', ['bash', '-c', wrapped], { cwd: this.dir, env: this.processEnv(), stdio: ['ignore', stdout, stderr], timeout: timeoutMs });
    } finally {
      closeSync(stdout);
      closeSync(stderr);
    }
    if (result.pid) this.groups.add(result.pid);
    if (result.error) throw result.error;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { script, status: result.status ?? -1, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8'), seconds };
  }

  /** Starts a `serves=P` block and waits until `http://127.0.0.1:port/health` answers (the block may keep running). */
  async serve(script: string, port: number, timeoutMs: number): Promise<ServedStep> {
    const { out, wrapped } = this.prepare(script);
    const log = openSync(out, 'w');
    const child: ChildProcess = spawn('bash', ['-c', wrapped], { cwd: this.dir, env: this.processEnv(), stdio: ['ignore', log, log], detached: true });
    closeSync(log);
    this.groups.add(child.pid!);
    const url = `http://127.0.0.1:${port}`;
    const output = () => readFileSync(out, 'utf8');
    const stop = async () => {
      killGroup(child.pid!);
      this.groups.delete(child.pid!);
      await waitUntil(async () => !(await answers(url)), 30_000);
    };
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await answers(url)) return { url, output, stop };
      if (child.exitCode !== null && child.exitCode !== 0) break;
      await new Promise((done) => setTimeout(done, 250));
    }
    await stop();
    throw new Error(`${script.trim()}\nleft nothing answering on ${url}/health:\n${output().slice(-3000)}`);
  }

  /** Ends every process group a block started (servers included) and removes the shell's state. */
  async stop(): Promise<void> {
    for (const group of this.groups) killGroup(group);
    this.groups.clear();
    rmSync(this.state, { recursive: true, force: true });
  }

  /** The test's environment with the journey's own on top; a variable given as undefined is unset. */
  private processEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, ...this.env, PATH: `${join(this.dir, 'bin')}:${process.env.PATH ?? ''}` };
    for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
    return env;
  }

  /** The block wrapped to start from the previous block's exports and folder, and to leave its own for the next. */
  private prepare(script: string): { out: string; err: string; wrapped: string } {
    const n = ++this.count;
    const [env, cwd] = [shellQuote(join(this.state, 'env')), shellQuote(join(this.state, 'cwd'))];
    const wrapped = [
      'set -eo pipefail',
      `[ -f ${env} ] && source ${env}`,
      `[ -f ${cwd} ] && cd "$(cat ${cwd})"`,
      `trap 'source ${join(this.state, 'save')}' EXIT`,
      script,
    ].join('\n');
    return { out: join(this.state, `${n}.out`), err: join(this.state, `${n}.err`), wrapped };
  }
}

/**
 * `declare -p` lines a block must not hand to the next: read-only variables, and those bash sets itself. What is left
 * are the variables the reader set (`RUN=…`, `export MLFLOW_TRACKING_URI=…`), as a terminal keeps them.
 */
const SHELL_OWN_VARIABLES =
  '^declare -[a-zA-Z]*r|^declare -[-a-zA-Z]* (BASH[A-Z_]*|_|PIPESTATUS|FUNCNAME|GROUPS|DIRSTACK|SHLVL|PWD|OLDPWD|LINENO|SECONDS|RANDOM|SRANDOM|EPOCHSECONDS|EPOCHREALTIME|HISTCMD|COMP_WORDBREAKS|OPTIND|OPTERR|PPID|UID|EUID|SHELLOPTS|IFS)(=|$)';

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    // Already gone.
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !(await condition())) await new Promise((done) => setTimeout(done, 200));
}

/** Runs one rewritten block in `dir` with `env` added (e.g. `MLFLOW_TRACKING_URI`), in a shell of its own. */
export function runStep(dir: string, script: string, env: NodeJS.ProcessEnv, timeoutMs: number): StepResult {
  const shell = new JourneyShell(dir, env);
  try {
    return shell.run(script, timeoutMs);
  } finally {
    void shell.stop();
  }
}
