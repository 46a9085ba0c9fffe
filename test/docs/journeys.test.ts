/**
 * The user journeys of the documentation, executed as written (test/docs/journey-pages.ts lists them):
 * 1. README.md's main job, then docs/recipes.md from its step 0 — the MLflow server started as the page says, from the
 *    checkout after the main job — through extending the shipped recipe, `--set`, a located mistake and the JSON
 *    Schema; then docs/datasets.md's own arrays (`data wrap`, `encode --images-only`, `eval`) on the main job's run;
 * 2. docs/plugins.md — the channel-gate package: listed, validated, tested by path and, installed, by name, then in a
 *    tracked run; 3. docs/mlflow.md — the local store opened in the real MLflow UI both ways, then the baseline and full
 *    3SHNet compared with the journey-2 run;
 * 4. docs/use.md — a run with its report, asked both ways, its data drawn, its report logged to MLflow, served over HTTP.
 *
 * How a page is executed: test/support/doc-journey.ts. Every `shnet run` gets the overrides below appended: the
 * pages show the real commands, the test trains the same recipes in seconds.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../plugins/tracker/mlflow/connection';
import { MlflowRestClient } from '../../plugins/tracker/mlflow/rest-client';
import type { MlflowRun } from '../../plugins/tracker/mlflow/rest-types';
import {
  journeyFolder,
  journeyOfPages,
  journeyPorts,
  JourneyShell,
  linkMlflow,
  rewriteScript,
  writeJourneyFiles,
  type Journey,
  type StepResult,
} from '../support/doc-journey';
import { startMlflowServer, type MlflowTestServer } from '../support/mlflow-server';
import { testPython } from '../support/python-env';
import { JOURNEYS } from './journey-pages';

/**
 * Appended to every documented `shnet run`: a few images per split, narrow layers, two epochs (so metrics have a
 * history), the data set's geometry left as shipped (docs/datasets.md's own arrays are exported at the shipped
 * geometry and must fit the main job's model). The pages' own seeds are kept, and the spatial module's args are left
 * alone: baseline.yaml switches that module off, and an override of one of its args would bring the node back
 * without a `type`.
 */
const RUN_OVERRIDES = [
  'backend=wasm',
  'data.args.trainSize=16',
  'data.args.devSize=8',
  'data.args.testSize=8',
  'train.epochs=2',
  'train.batchSize=8',
  'train.validationImages=8',
  'vars.embedDim=16',
  'model.text.args.wordDim=8',
];

const param = (run: MlflowRun, key: string) => run.data.params?.find((p) => p.key === key)?.value;
const tag = (run: MlflowRun, key: string) => run.data.tags?.find((t) => t.key === key)?.value;
const metric = (run: MlflowRun, key: string) => run.data.metrics?.find((m) => m.key === key)?.value;

/** The runs of an experiment named `runName`, through the REST API the UI reads (shnet's client: it retries). */
async function serverRuns(uri: string, experiment: string, runName?: string): Promise<MlflowRun[]> {
  const client = new MlflowRestClient(connect(uri));
  const found = await client.getExperimentByName(experiment);
  assert.ok(found, `experiment ${experiment} exists on ${uri}`);
  return client.searchRuns([found.experiment_id], runName === undefined ? '' : `attributes.run_name = '${runName}'`);
}

/**
 * Runs a journey's steps in `shell`, each documented port on a free one; `served` is called with each foreground
 * `serves=P` step's server, then the server stops (one started with `&` serves the rest of the journey).
 */
async function runJourney(
  shell: JourneyShell,
  journey: Journey,
  served: (where: string, url: string) => Promise<void> = async () => undefined,
): Promise<Map<string, StepResult>> {
  const ports = await journeyPorts(journey);
  const results = new Map<string, StepResult>();
  for (const step of journey.steps) {
    const script = rewriteScript(step.script, RUN_OVERRIDES, ports);
    if (step.serves !== undefined) {
      const server = await shell.serve(script, ports.get(step.serves)!, 180_000);
      // A server started in the background (`&`) serves the rest of the journey; one in the foreground is checked here.
      if (!/&\s*$/m.test(step.script)) {
        try {
          await served(step.where, server.url);
        } finally {
          await server.stop();
        }
      }
      continue;
    }
    const result = shell.run(script, 600_000);
    const shown = `${step.where}\n$ ${script}\nexit ${result.status}\n${result.stdout}\n${result.stderr}`;
    assert.equal(result.status, step.expectedExit, shown);
    if (step.expectedOutput !== undefined) assert.equal(`${result.stdout}${result.stderr}`.trim(), step.expectedOutput, shown);
    results.set(step.where, result);
  }
  return results;
}

/** The result of the step whose block (as run: `npx shnet` is the checkout's `shnet`) contains `text`. */
function stepWith(results: Map<string, StepResult>, text: string): StepResult {
  const found = [...results.values()].find((r) => r.script.includes(text.replace(/\bnpx shnet\b/g, 'shnet')));
  assert.ok(found, `a step running '${text}'`);
  return found;
}

describe('documented user journeys @slow', function () {
  this.timeout(20 * 60_000);

  describe(JOURNEYS[0].title, () => {
    const journey = journeyOfPages(JOURNEYS[0].pages);
    let dir = '';
    let shell: JourneyShell;
    let uri = '';
    let results = new Map<string, StepResult>();
    before(() => {
      dir = journeyFolder();
      linkMlflow(dir, testPython());
      writeJourneyFiles(dir, journey);
      // A reader's terminal before step 0: no tracking server configured.
      shell = new JourneyShell(dir, { MLFLOW_TRACKING_URI: undefined, MLFLOW_EXPERIMENT_NAME: undefined });
    });
    after(async () => {
      await shell?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('has its recipes and commands as marked blocks', () => {
      assert.deepEqual([...journey.files.keys()], ['my-recipes/3shnet-margin-lambda.yaml', 'my-recipes/typo.yaml']);
      assert.ok(
        journey.steps.some((s) => s.expectedExit === 2 && s.expectedOutput),
        'the located mistake and its output',
      );
      assert.match(journey.steps[0].script, /^npm ci && npx shnet run recipes\/shapes\/3shnet\.yaml$/m, 'the main job comes first');
      assert.ok(
        journey.steps.some((s) => s.serves === 5000 && /mlflow server/.test(s.script)),
        "step 0's server",
      );
    });

    it('every journey block runs as written — the MLflow server of step 0 too, after the main job filled ./mlruns', async () => {
      results = await runJourney(shell, journey);
      uri = shell.exported('MLFLOW_TRACKING_URI') ?? '';
      assert.match(uri, /^http:\/\/127\.0\.0\.1:\d+$/, 'step 0 exported the tracking URI for the blocks after it');
      assert.ok(existsSync(join(dir, 'mlflow.db')), "the server's own store");
    });

    it('`shnet sync` delivered the main job, run before the server existed', async () => {
      const [main] = await serverRuns(uri, 'shapes', 'shapes-3shnet');
      assert.ok(main, 'the main job is on the server');
      assert.equal(main.info.status, 'FINISHED');
      assert.ok(Number.isFinite(metric(main, 'test/rsum')));
    });

    it('the recipe file and the --set overrides made two runs with the changed params, one recipe hash, the same metrics', async () => {
      const runs = await serverRuns(uri, 'shapes', 'shapes-3shnet-margin-lambda');
      assert.equal(runs.length, 2, JSON.stringify(runs.map((r) => r.info)));
      for (const run of runs) {
        assert.equal(run.info.status, 'FINISHED');
        assert.equal(param(run, 'loss.args.margin'), '0.1');
        assert.equal(param(run, 'model.image.highlight.spatial.args.lambda'), '8');
        assert.equal(param(run, 'loss.args.warmupEpochs'), '3', 'merged onto the base, not replacing it');
      }
      assert.equal(tag(runs[0], 'shnet.recipe_hash'), tag(runs[1], 'shnet.recipe_hash'));
      assert.equal(metric(runs[0], 'val/rsum'), metric(runs[1], 'val/rsum'));
      assert.equal(metric(runs[0], 'test/rsum'), metric(runs[1], 'test/rsum'));
    });

    it('the documented ways of finding the run show it', () => {
      // The end-of-run summary names the run and its page on the tracking server.
      const run = stepWith(results, 'npx shnet run my-recipes/3shnet-margin-lambda.yaml');
      assert.match(run.stdout, /^MLflow +experiment shapes \(id \d+\), run [0-9a-f]{32}/m);
      assert.match(run.stdout, /^look at it +http:\/\/127\.0\.0\.1:\d+\/#\/experiments\/\d+\/runs\/[0-9a-f]{32}$/m);
      const compare = stepWith(results, '--filter "params.\\`loss.args.margin\\` = \'0.1\'"');
      assert.match(compare.stdout, /shapes-3shnet-margin-lambda/);
      const rest = stepWith(results, 'curl -s');
      assert.match(rest.stdout, /^loss\.args\.margin = 0\.1$/m);
      assert.match(rest.stdout, /^model\.image\.highlight\.spatial\.args\.lambda = 8$/m);
      assert.match(rest.stdout, /^UI: http:\/\/127\.0\.0\.1:\d+\/#\/experiments\/\d+$/m);
      const setRun = stepWith(results, '--filter "attributes.run_name = \'shapes-3shnet-margin-lambda\'"');
      assert.equal(setRun.stdout.match(/^[0-9a-f]{32} +shapes-3shnet-margin-lambda\b/gm)?.length, 2, setRun.stdout);
    });

    it('`shnet schema --out` wrote the JSON Schema the modeline points to', () => {
      const schema = JSON.parse(readFileSync(join(dir, 'my-recipes', 'recipe.schema.json'), 'utf8')) as { properties: Record<string, unknown> };
      for (const key of ['extends', 'vars', 'model', 'loss', 'train']) assert.ok(key in schema.properties, key);
      assert.match(JSON.stringify(schema), /"lambda"/);
    });

    it("docs/datasets.md: arrays wrapped as a precomp split are encoded images-only and evaluated with the main job's model", () => {
      assert.deepEqual(readdirSync(join(dir, 'gallery')).sort(), ['encode.json', 'images.npy']);
      const wrap = stepWith(results, '--split gallery');
      assert.match(wrap.stdout, /^gallery: 100 images, 6 regions of 64 features, 7 classes, images only → my-arrays$/m);
      const evaluated = stepWith(results, '--split captioned');
      assert.match(evaluated.stdout, /on 'captioned' \(100 images, all, ties optimistic\)/);
      assert.match(evaluated.stdout, /i2t R@1 .* rSum/);
    });
  });

  describe(JOURNEYS[1].title, () => {
    const journey = journeyOfPages(JOURNEYS[1].pages);
    let server: MlflowTestServer;
    let dir = '';
    let shell: JourneyShell;
    let results = new Map<string, StepResult>();
    const localStoreChecks: string[] = [];
    before(async () => {
      server = await startMlflowServer();
      dir = journeyFolder();
      linkMlflow(dir, testPython());
      writeJourneyFiles(dir, journey);
      // docs/mlflow.md's comparison assumes the server of docs/recipes.md step 0 (journey 1 runs that block).
      shell = new JourneyShell(dir, { MLFLOW_TRACKING_URI: server.uri });
    });
    after(async () => {
      await shell?.stop();
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('runs every block of both pages as written; the real MLflow UI opens the local store both documented ways', async () => {
      results = await runJourney(shell, journey, async (where, url) => {
        // What the UI reads: the channel-gate run of docs/plugins.md, logged to ./mlruns before any server saw it.
        const runs = await serverRuns(url, 'shapes', 'shapes-3shnet-channel-gate');
        assert.equal(runs.length, 1, `${where}: the UI lists the local run`);
        assert.equal(runs[0].info.status, 'FINISHED');
        assert.equal(param(runs[0], 'model.image.highlight.semantic.type'), 'channel-gate');
        localStoreChecks.push(where);
      });
      assert.equal(localStoreChecks.length, 2, 'the FileStore opened directly, and migrated to SQLite');
    });

    it('2: the package is listed, validated, tested by path and, once installed, by name', () => {
      assert.match(stepWith(results, 'npx shnet manifest channel-gate/index.ts').stdout, /shnet-plugin\.json: highlight\/channel-gate$/m);
      assert.ok(existsSync(join(dir, 'channel-gate', 'shnet-plugin.json')), 'the manifest as data beside the package');
      const listed = stepWith(results, 'npx shnet plugins highlight --recipe');
      assert.match(listed.stdout, /^ {2}channel-gate {2}Channel attention gate.*from shnet-channel-gate\]$/m);
      for (const text of ['npx shnet test-plugin channel-gate/index.ts', 'npx shnet test-plugin shnet-channel-gate']) {
        const tested = stepWith(results, text);
        assert.match(tested.stdout, /highlight\/channel-gate +PASS +training: every trainable parameter gets a gradient/);
        assert.match(tested.stdout, /(\d+) of \1 checks passed on 1 plugin$/m);
      }
      assert.ok(existsSync(join(dir, 'node_modules', 'shnet-channel-gate', 'package.json')), 'npm installed the package by its name');
    });

    it('2: the plugin run is logged to MLflow with the plugin and its package in its params, and the package in its recipe', async () => {
      const [run] = await serverRuns(server.uri, 'shapes', 'shapes-3shnet-channel-gate');
      assert.ok(run, 'the channel-gate run is on the server');
      assert.equal(run.info.status, 'FINISHED');
      assert.equal(param(run, 'model.image.highlight.semantic.type'), 'channel-gate');
      assert.equal(param(run, 'model.image.highlight.semantic.args.reduction'), '8');
      assert.equal(param(run, 'model.image.highlight.spatial.type'), 'spatial');
      assert.ok(Number.isFinite(metric(run, 'test/rsum')), 'evaluated on the test split');
      assert.equal(param(run, 'plugins'), 'shnet-channel-gate@0.1.0');
      const folder = readdirSync(join(dir, 'runs')).find((f) => f.startsWith('shapes-3shnet-channel-gate-'))!;
      assert.match(readFileSync(join(dir, 'runs', folder, 'recipe.yaml'), 'utf8'), /^plugins:\n\s+- shnet-channel-gate$/m);
    });

    it('3: baseline and 3SHNet are run and compared with the plugin run on the command line, best test rSum first', async () => {
      const table = stepWith(results, '--metric test/rsum').stdout;
      for (const name of ['shapes-baseline', 'shapes-3shnet', 'shapes-3shnet-channel-gate']) assert.match(table, new RegExp(` ${name} `), table);
      const header = table.split('\n')[0].split(/\s{2,}/);
      assert.ok(header.includes('model.image.highlight.semantic'), table);
      assert.equal(header.filter((h) => h === 'name').length, 1);
      assert.deepEqual(header.slice(-4), ['val/i2t/R1', 'val/t2i/R1', 'val/rsum', 'test/rsum']);
      assert.doesNotMatch(table, /params\./);
      const markdown = readFileSync(join(dir, 'comparison.md'), 'utf8');
      assert.match(markdown, /^\| run \| name \|.*\| test\/rsum \|$/m);
      assert.equal(markdown.trim().split('\n').length, 2 + 3, markdown);

      // Both formats rank by test/rsum, and the runs differ in it or in another recall.
      const runs = await Promise.all(
        ['shapes-baseline', 'shapes-3shnet', 'shapes-3shnet-channel-gate'].map(async (n) => (await serverRuns(server.uri, 'shapes', n))[0]),
      );
      const keys = ['test/rsum', 'val/rsum', 'val/i2t/R1', 'val/t2i/R1', 'val/i2t/meanr', 'val/t2i/meanr'];
      assert.ok(
        keys.some((k) => new Set(runs.map((r) => metric(r, k))).size > 1),
        'some metric differs between the runs',
      );
      for (const text of [table, markdown]) {
        const inOrder = runs.slice().sort((a, b) => text.indexOf(a.info.run_id) - text.indexOf(b.info.run_id));
        const ranked = inOrder.map((r) => metric(r, 'test/rsum')!);
        assert.deepEqual(
          ranked,
          ranked.slice().sort((a, b) => b - a),
          'rows ranked by test/rsum, highest first',
        );
      }
      assert.ok(existsSync(join(dir, 'mlruns')), 'runs were written to the local store first');
    });
  });

  describe(JOURNEYS[2].title, () => {
    const journey = journeyOfPages(JOURNEYS[2].pages);
    let server: MlflowTestServer;
    let dir = '';
    let shell: JourneyShell;
    let results = new Map<string, StepResult>();
    before(async () => {
      server = await startMlflowServer();
      dir = journeyFolder();
      // The page's report is tracked: it assumes the server of docs/recipes.md step 0, as docs/mlflow.md does.
      shell = new JourneyShell(dir, { MLFLOW_TRACKING_URI: server.uri });
    });
    after(async () => {
      await shell?.stop();
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('every journey block runs as written, in one shell, the server left running in the background included', async () => {
      results = await runJourney(shell, journey);
      assert.ok(
        journey.steps.some((s) => s.serves === 8080 && /shnet serve/.test(s.script)),
        'the server block',
      );
    });

    it('`run --report` wrote the report and logged it to the tracked run; `report --track` wrote it again', async () => {
      const runs = readdirSync(join(dir, 'runs'));
      assert.equal(runs.length, 1, runs.join(', '));
      assert.match(readFileSync(join(dir, 'runs', runs[0], 'report.html'), 'utf8'), /^<!doctype html>/i);
      const [tracked] = await serverRuns(server.uri, 'shapes', 'shapes-3shnet');
      assert.equal(tracked.info.status, 'FINISHED');
      assert.ok(Number.isFinite(metric(tracked, 'val/rsum')) && Number.isFinite(metric(tracked, 'test/rsum')));
      const artifacts = await new MlflowRestClient(connect(server.uri)).listArtifacts(tracked.info.run_id);
      assert.ok(
        artifacts.some((a) => a.path === 'report.html'),
        JSON.stringify(artifacts),
      );
      assert.match(stepWith(results, 'npx shnet report "$RUN"').stdout, /report\.html$/m);
    });

    it('queries answer both ways, name the word the vocabulary lacks, and print JSON for scripts', () => {
      const text = stepWith(results, '--text "a small red circle left of a purple-ish square" -k 3').stdout;
      assert.match(text, /^images of 'test' for "a small red circle left of a purple-ish square":$/m);
      assert.match(text, /^not in the vocabulary \(read as unknown words\): ish$/m);
      assert.equal(text.match(/^[123] +\d+ +-?\d\.\d{4} +\S.*$/gm)?.length, 3, text);
      const both = stepWith(results, '--image 3 -k 3').stdout;
      assert.match(both, /^captions of 'test' for image 3:$/m);
      assert.equal(both.match(/^[123] +\d+ +\d+( \(its own\))? +-?\d\.\d{4} +\S/gm)?.length, 3, both);
      assert.equal(both.match(/^\{"image":\d+,"score":-?[\d.e-]+\}$/gm)?.length, 2, both);
    });

    it('`data show` wrote the pictures it names', () => {
      const shown = stepWith(results, 'npx shnet data show 3 --run').stdout;
      assert.match(shown, /wrote test-3\.png \(256×256 pixels\)/);
      assert.match(shown, /^overlay: /m);
      assert.match(shown, /wrote shapes-dev-3\.png/);
      for (const file of ['test-3.png', 'shapes-dev-3.png']) assert.deepEqual([...readFileSync(join(dir, file)).subarray(1, 4)], [...Buffer.from('PNG')], file);
    });

    it('the server answered the documented requests: hits, a picture, and a 400 for an empty text', () => {
      const served = stepWith(results, '/query?text=a+red+circle+above+a+green+cross').stdout;
      assert.equal(served.match(/^\{"rank":\d,"image":\d+,"score":-?[\d.e-]+\}$/gm)?.length, 3, served);
      assert.match(served, /^200 image\/png$/m);
      assert.match(served, /^\{"error":"the query text is empty"\}\n 400$/m);
      assert.deepEqual([...readFileSync(join(dir, 'image-3.png')).subarray(1, 4)], [...Buffer.from('PNG')]);
    });
  });
});
