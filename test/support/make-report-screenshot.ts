/**
 * Makes docs/img/report.png, the picture of `shnet report` in docs/use.md: writes the report of a trained run and
 * photographs its first screens in headless Chromium.
 *
 * Run: npm run build && node dist/test/support/make-report-screenshot.js RUN_DIR [OUT.png]
 * RUN_DIR is a run of the demo recipe (`npx shnet run recipes/shapes/3shnet.yaml`, about ten minutes). Needs
 * /usr/bin/chromium (Debian: apt-get install chromium) and the dev dependency playwright-core. Not run by CI.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './browser';
import { CLI } from './cli';
import { REPO_ROOT } from './python-env';

async function main(): Promise<void> {
  const [runDir, out = join(REPO_ROOT, 'docs', 'img', 'report.png')] = process.argv.slice(2);
  if (!runDir) throw new Error('usage: node dist/test/support/make-report-screenshot.js RUN_DIR [OUT.png]');
  const scratch = mkdtempSync(join(tmpdir(), 'shnet-report-shot-'));
  try {
    const page = join(scratch, 'report.html');
    execFileSync(process.execPath, [CLI, 'report', runDir, '--out', page, '--samples', '4'], { stdio: 'inherit' });
    const browser = await chromium.launchPersistentContext(join(scratch, 'profile'), {
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 1500 },
      deviceScaleFactor: 1,
    });
    try {
      const tab = await browser.newPage();
      await tab.goto(pathToFileURL(page).href);
      await tab.waitForLoadState('load');
      await tab.screenshot({ path: out });
    } finally {
      await browser.close();
    }
    console.log(`saved ${out}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
