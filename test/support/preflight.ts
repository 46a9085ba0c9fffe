/**
 * What the tests need from the machine, checked once before any test runs (a mocha root hook, registered in
 * .mocharc.js). A test does not find out half an hour in that `redis-server` is missing: the run stops at once, naming
 * every missing tool and the command that installs it.
 *
 * A tool is needed when a test that uses it is loaded: each requirement names the support module through which tests
 * use the tool, and the hook looks for it among the modules mocha's files loaded. `npx mocha dist/test/x.test.js`
 * checks only what x needs; `npm test` checks everything.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** One thing the tests need, how to tell it is there, and how to get it. */
export interface Requirement {
  readonly name: string;
  /** Support modules (file names under test/support/ or packages) whose loading means a test uses the tool. */
  readonly usedThrough: readonly string[];
  /** Why the tests need it. */
  readonly why: string;
  readonly present: () => boolean;
  /** Debian package that provides it. */
  readonly debian: string;
}

const onPath = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
const runs = (command: string, args: readonly string[]) => spawnSync(command, [...args], { stdio: 'ignore' }).status === 0;

/** The Python with PyTorch the import tests use (see torch-python.ts). */
const torchPresent = () =>
  [process.env.SHNET_TORCH_PYTHON, '/usr/bin/python3', 'python3'].some((python) => python !== undefined && runs(python, ['-c', 'import torch']));

/** The pinned test venv exists (SHNET_TEST_VENV, or .cache/venv), or can be made: python3 with venv and ensurepip. */
function venvPossible(): boolean {
  const venv = process.env.SHNET_TEST_VENV ?? join(__dirname, '..', '..', '..', '.cache', 'venv');
  if (existsSync(join(venv, 'bin', 'python'))) return true;
  return runs('python3', ['-c', 'import venv, ensurepip']);
}

export const REQUIREMENTS: readonly Requirement[] = [
  {
    name: 'python3 with venv',
    usedThrough: ['python-env.js'],
    why: 'real MLflow and numpy, installed from PyPI into .cache/venv (or the venv SHNET_TEST_VENV names)',
    present: venvPossible,
    debian: 'python3-venv',
  },
  {
    name: 'PyTorch for /usr/bin/python3',
    usedThrough: ['torch-python.js'],
    why: "checkpoint-import tests check shnet's reader against real torch.save files",
    present: torchPresent,
    debian: 'python3-torch',
  },
  {
    name: 'redis-server',
    usedThrough: ['redis-server.js'],
    why: "the BullMQ sweep executor's tests start their own Redis",
    present: () => onPath('redis-server'),
    debian: 'redis-server',
  },
  {
    name: 'curl',
    usedThrough: ['doc-journey.js'],
    why: "the documented commands are run as written, and docs/recipes.md's MLflow REST example uses curl",
    present: () => onPath('curl'),
    debian: 'curl',
  },
  {
    name: 'jq',
    usedThrough: ['doc-journey.js'],
    why: "the documented commands are run as written, and docs/recipes.md's MLflow REST example uses jq",
    present: () => onPath('jq'),
    debian: 'jq',
  },
  {
    name: 'chromium',
    usedThrough: ['playwright-core'],
    why: 'browser tests drive /usr/bin/chromium through playwright-core',
    present: () => existsSync('/usr/bin/chromium'),
    debian: 'chromium',
  },
];

/** True when a module whose path contains `/${name}` (a support file or a package) has been loaded. */
function loaded(name: string): boolean {
  return Object.keys(require.cache).some((path) => path.includes(`/${name}`));
}

/** The requirements of the loaded tests that this machine lacks. */
export function missingRequirements(requirements: readonly Requirement[] = REQUIREMENTS, isLoaded = loaded): Requirement[] {
  return requirements.filter((r) => r.usedThrough.some(isLoaded) && !r.present());
}

/** The message that stops the run: every missing tool, why, and one command that installs them all. */
export function preflightMessage(missing: readonly Requirement[]): string {
  const packages = [...new Set(missing.map((r) => r.debian))].join(' ');
  return [
    `the tests need ${missing.length === 1 ? 'a tool this machine lacks' : `${missing.length} tools this machine lacks`}:`,
    ...missing.map((r) => `  - ${r.name}: ${r.why}`),
    `install ${missing.length === 1 ? 'it' : 'them'} with: sudo apt-get install -y ${packages}`,
    '(on Debian or Ubuntu; .ci/run does this on a fresh machine, and README.md lists what the tests need)',
  ].join('\n');
}

/** Mocha root hook: runs once after every test file is loaded, before the first test. */
export const mochaHooks = {
  beforeAll(): void {
    const missing = missingRequirements();
    if (missing.length > 0) throw new Error(preflightMessage(missing));
  },
};
