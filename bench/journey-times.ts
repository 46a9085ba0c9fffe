/**
 * Wall time of a documented user journey at the page's real settings: the `journey` blocks of a docs page, run as
 * written (no size overrides) in a fresh folder against a real MLflow server, one line per block.
 * Run: npx ts-node --transpile-only bench/journey-times.ts docs/recipes.md
 *
 * The numbers are what a new user waits for on this machine; docs/recipes.md quotes them for 2 CPU cores.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { journeyFolder, journeyOf, rewriteScript, runStep, writeJourneyFiles } from '../test/support/doc-journey';
import { startMlflowServer } from '../test/support/mlflow-server';
import { REPO_ROOT } from '../test/support/python-env';

async function main(): Promise<void> {
  const page = process.argv[2] ?? 'docs/recipes.md';
  const journey = journeyOf(readFileSync(join(REPO_ROOT, page), 'utf8'));
  const server = await startMlflowServer();
  const dir = journeyFolder();
  writeJourneyFiles(dir, journey);
  let total = 0;
  try {
    for (const step of journey.steps) {
      const result = runStep(dir, rewriteScript(step.script, []), { MLFLOW_TRACKING_URI: server.uri }, 3 * 3600_000);
      total += result.seconds;
      const first = step.script.trim().split('\n')[0];
      console.log(`${result.seconds.toFixed(1).padStart(8)} s  exit ${result.status}  ${first}`);
      if (result.status !== step.expectedExit) console.log(result.stdout, result.stderr);
    }
    console.log(`${total.toFixed(1).padStart(8)} s  total (${page})`);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
