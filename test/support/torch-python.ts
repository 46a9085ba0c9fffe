/**
 * A Python with PyTorch: for tests that check shnet's reader against real `torch.save` output, and for the
 * benchmark's PyTorch peer (bench/torch-peer.ts). PyTorch is not in the pinned test venv (its wheel is hundreds of
 * MB); Debian's `python3-torch` installs it for the system Python (/usr/bin/python3), which `.ci/run` provides.
 * `SHNET_TORCH_PYTHON` names another interpreter.
 */
import { execFileSync, spawnSync } from 'node:child_process';

let found: string | null | undefined;

/** The first interpreter that imports torch, or null. */
export function torchPython(): string | null {
  if (found === undefined) {
    const candidates = [process.env.SHNET_TORCH_PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => !!c);
    found = candidates.find((python) => spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) ?? null;
  }
  return found;
}

/**
 * The torch interpreter for a test: in CI its absence fails the test (CI installs it); elsewhere the test is
 * skipped with the reason.
 */
export function requireTorch(context: Mocha.Context): string {
  const python = torchPython();
  if (python) return python;
  if (process.env.CI) throw new Error('no Python with torch (CI installs python3-torch; see .ci/run)');
  context.skip();
  throw new Error('unreachable');
}

/** Runs a snippet with the torch interpreter; `sys.argv[1:]` are `args`. */
export function runTorch(python: string, code: string, args: readonly string[] = []): string {
  return execFileSync(python, ['-c', code, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}
