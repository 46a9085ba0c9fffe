/**
 * Makes what docs/use.md shows of the demo run, from a run folder of `recipes/shapes/3shnet.yaml` at its shipped size:
 * - every ```text example block of the page: the journey block just before it is run on the run (`RUN` set to the
 *   folder, `npx shnet` this checkout's CLI, nothing rewritten), and what it prints on stdout replaces the example;
 * - docs/img/report.png: the run's report (`shnet report`), photographed in headless Chromium.
 *
 * Run: npm run build && node dist/test/support/make-use-examples.js RUN_DIR
 * RUN_DIR is the demo run (`npx shnet run recipes/shapes/3shnet.yaml`; docs/recipes.md#how-long-it-takes says how long
 * that takes). Needs /usr/bin/chromium (Debian: apt-get install chromium) and the dev dependency playwright-core. Not
 * run by CI: the journey test runs the same commands on a shrunk run, whose numbers differ.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { RunFolder } from '../../core/run-folder';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './browser';
import { CLI } from './cli';
import { docBlocks, journeyFolder, JourneyShell, rewriteScript } from './doc-journey';
import { REPO_ROOT } from './python-env';

const PAGE = join(REPO_ROOT, 'docs', 'use.md');
const PICTURE = join(REPO_ROOT, 'docs', 'img', 'report.png');

/** The page with each example replaced by what the journey block before it prints on `runDir`. */
function withExamples(markdown: string, runDir: string): string {
  const lines = markdown.split('\n');
  const blocks = docBlocks(markdown);
  const dir = journeyFolder();
  const shell = new JourneyShell(dir, { RUN: runDir });
  try {
    // From the last example up, so the line numbers of the earlier ones still hold.
    for (let i = blocks.length - 1; i > 0; i--) {
      const [command, example] = [blocks[i - 1], blocks[i]];
      if (!example.attrs.has('example') || !command.attrs.has('journey')) continue;
      const script = rewriteScript(command.text, []);
      console.log(`$ ${script.trim()}`);
      const result = shell.run(script, 600_000);
      if (result.status !== 0) throw new Error(`docs/use.md:${command.line} exited ${result.status}:\n${result.stderr}`);
      process.stdout.write(result.stdout);
      // The example's content lies between its opening fence (line `example.line`) and its closing one.
      const body = example.text === '' ? 0 : example.text.replace(/\n$/, '').split('\n').length;
      lines.splice(example.line, body, ...result.stdout.replace(/\n$/, '').split('\n'));
    }
  } finally {
    void shell.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return lines.join('\n');
}

/** Writes the report of `runDir` to a scratch file and photographs its first screens. */
async function photographReport(runDir: string): Promise<void> {
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
      await tab.screenshot({ path: PICTURE });
    } finally {
      await browser.close();
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const [given] = process.argv.slice(2);
  if (!given) throw new Error('usage: node dist/test/support/make-use-examples.js RUN_DIR');
  const runDir = resolve(given);
  if (!existsSync(new RunFolder(runDir).best)) throw new Error(`${runDir} is not a trained run folder`);
  writeFileSync(PAGE, withExamples(readFileSync(PAGE, 'utf8'), runDir));
  console.log('updated the examples of docs/use.md');
  await photographReport(runDir);
  console.log(`saved ${PICTURE}`);
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
