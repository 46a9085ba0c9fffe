/**
 * Makes the MLflow UI screenshots of docs/mlflow.md ("Comparing runs") from real runs:
 * starts a real MLflow server, runs the `journey` commands of docs/plugins.md ("Using it in a tracked run") and of
 * docs/mlflow.md against it with SCREENSHOT_OVERRIDES appended to every `shnet run` (a few hundred images, two
 * epochs: minutes instead of half an hour, yet enough training for the variants' metrics to differ), then drives
 * headless Chromium to the experiment's runs table and to the compare view of its runs, and saves
 * docs/img/mlflow-runs-table.png and docs/img/mlflow-compare-runs.png.
 *
 * Run: npm run build && node dist/test/support/make-screenshots.js
 * Needs /usr/bin/chromium (Debian: apt-get install chromium) and the dev dependency playwright-core. Not run by CI.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { connect } from '../../plugins/tracker/mlflow/connection';
import { MlflowRestClient } from '../../plugins/tracker/mlflow/rest-client';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './browser';
import { journeyFolder, journeyOfPages, JourneyShell, rewriteScript, writeJourneyFiles } from './doc-journey';
import { startMlflowServer } from './mlflow-server';
import { REPO_ROOT } from './python-env';

/** Appended to every documented `shnet run` (docs/mlflow.md quotes this list). */
export const SCREENSHOT_OVERRIDES = [
  'data.args.trainSize=300',
  'data.args.devSize=200',
  'data.args.testSize=200',
  'train.epochs=2',
  'train.validationImages=200',
];

/** Runs the journeys' commands against `uri` with SCREENSHOT_OVERRIDES. */
function runJourneys(uri: string): void {
  const dir = journeyFolder();
  const shell = new JourneyShell(dir, { MLFLOW_TRACKING_URI: uri });
  try {
    const journey = journeyOfPages(['docs/plugins.md', 'docs/mlflow.md']);
    writeJourneyFiles(dir, journey);
    // The local-store UIs of docs/mlflow.md are not what the pictures show.
    for (const step of journey.steps.filter((s) => s.serves === undefined)) {
      const script = rewriteScript(step.script, SCREENSHOT_OVERRIDES);
      console.log(`$ ${script}`);
      const result = shell.run(script, 3600_000);
      process.stdout.write(result.stdout);
      console.log(`(${result.seconds.toFixed(0)} s, exit ${result.status})`);
      if (result.status !== step.expectedExit) throw new Error(`step failed:\n${result.stderr}`);
    }
  } finally {
    void shell.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `--tracking-uri URI` uses that server instead of starting one, and its runs when its experiment `shapes` exists
 * (to take the pictures again after a UI change without training again).
 */
async function main(): Promise<void> {
  const given = process.argv.indexOf('--tracking-uri');
  const server = given > 0 ? { uri: process.argv[given + 1], stop: async () => undefined } : await startMlflowServer();
  const profile = mkdtempSync(join(tmpdir(), 'shnet-chromium-'));
  // shnet's own client: it retries a request whose pooled connection the server had just closed.
  const client = new MlflowRestClient(connect(server.uri));
  try {
    if (!(await client.getExperimentByName('shapes'))) runJourneys(server.uri);
    const experiment = (await client.getExperimentByName('shapes'))!;
    const runs = await client.searchRuns([experiment.experiment_id], '', ['attributes.start_time ASC']);
    const runIds = runs.map((r) => r.info.run_id);

    // A persistent context is how playwright takes a fresh --user-data-dir.
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_ARGS,
      viewport: { width: 1600, height: 900 },
      deviceScaleFactor: 1,
    });
    try {
      const page = await browser.newPage();
      // The runs table of the experiment, in the UI's "Model training" mode (3.x opens experiments in GenAI mode),
      // with the comparison's metrics and the swapped plugin as columns.
      await page.goto(`${server.uri}/#/experiments/${experiment.experiment_id}/runs`);
      await page
        .getByText('shapes-3shnet-channel-gate')
        .first()
        .waitFor({ timeout: 60_000 })
        .catch(async (error: unknown) => {
          await page.screenshot({ path: join(tmpdir(), 'shnet-screenshot-failed.png') });
          throw error;
        });
      await page.getByText('Model training', { exact: true }).first().click();
      await page
        .getByRole('button', { name: 'Close' })
        .click()
        .catch(() => undefined); // the assistant panel, if open
      await page.getByRole('button', { name: 'Columns' }).click();
      const search = page.getByPlaceholder('Search columns');
      const showColumn = async (column: string) => {
        await search.fill(column);
        await page.waitForTimeout(800); // the list re-renders as it filters
        // The menu is a portal at the end of the page. Its labels mark the searched text in <strong>, so `i2t/R1` is
        // also a whole element inside `test/i2t/R10`: the item is the last span whose whole text is the column.
        const exact = new RegExp(`^${column.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`);
        await page.locator('span', { hasText: exact }).last().click();
        await page.waitForTimeout(300);
      };
      // Each click toggles a column: Dataset and Models (shown by default, empty for these runs) off, the rest on.
      for (const column of ['Dataset', 'Models', 'test/rsum', 'rsum', 'i2t/R1', 't2i/R1', 'model.image.highlight.semantic.type']) {
        await showColumn(column);
      }
      await page.keyboard.press('Escape');
      await page.waitForTimeout(2000); // let the table settle (column widths, metric cells)
      await page.screenshot({ path: join(REPO_ROOT, 'docs', 'img', 'mlflow-runs-table.png') });

      // The compare view, tall enough to hold run details, params and metrics (it scrolls inside the page).
      await page.setViewportSize({ width: 1600, height: 2000 });
      const query = `runs=${encodeURIComponent(JSON.stringify(runIds))}&experiments=${encodeURIComponent(JSON.stringify([experiment.experiment_id]))}`;
      await page.goto(`${server.uri}/#/compare-runs?${query}`);
      await page.getByText('Run details').first().waitFor({ timeout: 60_000 });
      await page.getByText('Show diff only').first().click(); // params: only those that differ between the runs
      await page.waitForTimeout(3000);
      await page.screenshot({ path: join(REPO_ROOT, 'docs', 'img', 'mlflow-compare-runs.png') });
    } finally {
      await browser.close();
    }
    console.log(`saved docs/img/mlflow-runs-table.png and docs/img/mlflow-compare-runs.png (${runIds.length} runs)`);
  } finally {
    await server.stop();
    rmSync(profile, { recursive: true, force: true });
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
