import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Repository root (this file compiles to dist/test/support/, sources sit in test/support/). */
export const REPO_ROOT = resolve(__dirname, __dirname.includes(`${'dist'}`) ? '../../..' : '../..');

const VENV_DIR = process.env.SHNET_TEST_VENV ?? join(REPO_ROOT, '.cache', 'venv');
const REQUIREMENTS = join(REPO_ROOT, 'test', 'support', 'requirements.txt');

/**
 * Returns the path of a Python interpreter that has the pinned test requirements (real MLflow, real numpy).
 * The virtual environment is created once and reused between local runs; it is rebuilt when
 * `requirements.txt` changes. CI creates it up front in `.ci/run` with the same function's logic.
 */
export function testPython(): string {
  const python = join(VENV_DIR, 'bin', 'python');
  const stamp = join(VENV_DIR, '.requirements');
  const wanted = readFileSync(REQUIREMENTS, 'utf8');
  if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) return python;
  mkdirSync(VENV_DIR, { recursive: true });
  if (!existsSync(python)) execFileSync('python3', ['-m', 'venv', VENV_DIR], { stdio: 'inherit' });
  execFileSync(python, ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', '-r', REQUIREMENTS], {
    stdio: 'inherit',
  });
  writeFileSync(stamp, wanted);
  return python;
}

/** Runs a Python snippet with the test interpreter and returns its stdout (throws with stderr on failure). */
export function runPython(code: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(testPython(), ['-c', code, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 256 * 1024 * 1024,
  });
}

/**
 * Runs a numpy snippet on a JSON input too large for a command line: the input is written to a temporary file and
 * the snippet sees it decoded as `a`; it must print its result as JSON, which is returned decoded.
 */
export function runNumpyJson<T = unknown>(snippet: string, input: unknown): T {
  const dir = mkdtempSync(join(tmpdir(), 'shnet-py-'));
  const file = join(dir, 'input.json');
  try {
    writeFileSync(file, JSON.stringify(input));
    const code = `import json, sys, math\nimport numpy as np\nwith open(sys.argv[1]) as fh:\n    a = json.load(fh)\n${snippet}`;
    return JSON.parse(runPython(code, [file])) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
