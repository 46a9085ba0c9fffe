/**
 * Wall time of documented user journeys at the pages' real settings: the `journey` blocks of the pages given (default:
 * README.md's main job, then docs/recipes.md), run as written — no size overrides — in one fresh folder and one shell,
 * the MLflow server of docs/recipes.md step 0 included. One line per block.
 * Run: npm run build && flock /tmp/shnet-heavy.lock node dist/bench/journey-times.js [PAGE…]
 *
 * The numbers are what a new user waits for on this machine; docs/recipes.md quotes them for 2 CPU cores.
 */
import { rmSync } from 'node:fs';
import { journeyFolder, journeyOfPages, journeyPorts, JourneyShell, linkMlflow, rewriteScript, writeJourneyFiles } from '../test/support/doc-journey';
import { testPython } from '../test/support/python-env';

async function main(): Promise<void> {
  const pages = process.argv.length > 2 ? process.argv.slice(2) : ['README.md', 'docs/recipes.md'];
  const journey = journeyOfPages(pages);
  const dir = journeyFolder();
  linkMlflow(dir, testPython());
  writeJourneyFiles(dir, journey);
  const shell = new JourneyShell(dir, { MLFLOW_TRACKING_URI: undefined });
  const ports = await journeyPorts(journey);
  let total = 0;
  try {
    for (const step of journey.steps) {
      const script = rewriteScript(step.script, [], ports);
      const first = step.script.trim().split('\n')[0];
      const started = Date.now();
      if (step.serves !== undefined) {
        await shell.serve(script, ports.get(step.serves)!, 300_000);
      } else {
        const result = shell.run(script, 3 * 3600_000);
        if (result.status !== step.expectedExit) console.log(result.stdout, result.stderr);
      }
      const seconds = (Date.now() - started) / 1000;
      total += seconds;
      console.log(`${seconds.toFixed(1).padStart(8)} s  ${step.where.padEnd(22)} ${first}`);
    }
    console.log(`${total.toFixed(1).padStart(8)} s  total (${pages.join(', ')})`);
  } finally {
    await shell.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
