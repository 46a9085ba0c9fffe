/**
 * The three user journeys of the documentation, executed as written against a real MLflow server:
 * 1. docs/recipes.md — extend the shipped 3SHNet recipe, validate, run, find the run, the same change with `--set`,
 *    a located mistake, the JSON Schema;
 * 2. docs/plugins.md, "Using it in a tracked run" — the channel-gate package of that page in a run of the shapes recipe;
 * 3. docs/mlflow.md, "Comparing runs" — the baseline and full 3SHNet, compared with the journey-2 run;
 * 4. docs/use.md — a run with its report, queries, pictures of the data, the report logged to MLflow, a server.
 *
 * How a page is executed (test/support/doc-journey.ts): ```yaml file=PATH blocks are written to a fresh folder,
 * ```sh journey blocks run there with bash in page order (```sh journey exit=N expects exit code N; a ```text output
 * block right after one is its exact output), with MLFLOW_TRACKING_URI set to the server. `npx shnet` runs this
 * checkout's compiled CLI, and every `shnet run` command gets the overrides below appended: the page shows the real
 * five-minute commands, the test trains the same recipes in seconds.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../plugins/tracker/mlflow/connection';
import { MlflowRestClient } from '../../plugins/tracker/mlflow/rest-client';
import type { MlflowRun } from '../../plugins/tracker/mlflow/rest-types';
import { journeyFolder, journeyOf, rewriteScript, runStep, writeJourneyFiles, type StepResult } from '../support/doc-journey';
import { startMlflowServer, type MlflowTestServer } from '../support/mlflow-server';
import { REPO_ROOT } from '../support/python-env';
import { tinyShapesOverrides } from '../support/tiny-shapes';

/**
 * Appended to every documented `shnet run`: the tiny shapes sizes, two epochs (so metrics have a history). The pages'
 * own seeds are kept, and the spatial module's `keyDim` is left alone: baseline.yaml switches that module off, and an
 * override of one of its args would bring the node back without a `type`.
 */
const RUN_OVERRIDES = tinyShapesOverrides(2).filter((o) => !o.startsWith('seed=') && !o.includes('spatial.args.keyDim'));

const page = (name: string) => journeyOf(readFileSync(join(REPO_ROOT, 'docs', name), 'utf8'));

/**
 * The runs of an experiment whose name is `runName`, through the REST API the UI reads. shnet's own client, because
 * it retries a request whose pooled connection the server had just closed.
 */
async function serverRuns(server: MlflowTestServer, experiment: string, runName: string): Promise<MlflowRun[]> {
  const client = new MlflowRestClient(connect(server.uri));
  const found = await client.getExperimentByName(experiment);
  assert.ok(found, `experiment ${experiment} exists on the server`);
  return client.searchRuns([found.experiment_id], `attributes.run_name = '${runName}'`);
}

const param = (run: MlflowRun, key: string) => run.data.params?.find((p) => p.key === key)?.value;
const tag = (run: MlflowRun, key: string) => run.data.tags?.find((t) => t.key === key)?.value;
const metric = (run: MlflowRun, key: string) => run.data.metrics?.find((m) => m.key === key)?.value;

/** Runs every journey step of `steps` in `dir`, asserting each one's documented exit code and output. */
function runJourney(dir: string, server: MlflowTestServer, journey: ReturnType<typeof page>): StepResult[] {
  return journey.steps.map((step) => {
    const result = runStep(dir, rewriteScript(step.script, RUN_OVERRIDES), { MLFLOW_TRACKING_URI: server.uri }, 600_000);
    const shown = `$ ${step.script}\nexit ${result.status}\n${result.stdout}\n${result.stderr}`;
    assert.equal(result.status, step.expectedExit, shown);
    if (step.expectedOutput !== undefined) assert.equal(`${result.stdout}${result.stderr}`.trim(), step.expectedOutput, shown);
    return result;
  });
}

describe('documented user journeys @slow', function () {
  this.timeout(15 * 60_000);
  // One server per journey, both up for the whole file: a port freed by one server and reused by the next would meet
  // the first one's pooled keep-alive connections.
  let servers: Promise<[MlflowTestServer, MlflowTestServer]>;
  before(() => {
    servers = Promise.all([startMlflowServer(), startMlflowServer()]);
    return servers;
  });
  after(async () => {
    for (const server of await servers.catch(() => [])) await server.stop();
  });

  describe('1. docs/recipes.md: vary 3SHNet with a recipe', () => {
    const journey = page('recipes.md');
    let server: MlflowTestServer;
    let dir = '';
    let results: StepResult[] = [];
    before(async () => {
      server = (await servers)[0];
      dir = journeyFolder();
      writeJourneyFiles(dir, journey);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('has its recipes and commands as marked blocks', () => {
      assert.deepEqual([...journey.files.keys()], ['my-recipes/3shnet-margin-lambda.yaml', 'my-recipes/typo.yaml']);
      assert.ok(
        journey.steps.some((s) => s.expectedExit === 2 && s.expectedOutput),
        'the located mistake and its output',
      );
    });

    it('every journey block runs as written, with its documented exit code and verbatim output', () => {
      results = runJourney(dir, server, journey);
    });

    it('the recipe file and the --set overrides made two runs with the changed params, one recipe hash, the same metrics', async () => {
      const runs = await serverRuns(server, 'shapes', 'shapes-3shnet-margin-lambda');
      assert.equal(runs.length, 2, JSON.stringify(runs.map((r) => r.info)));
      for (const run of runs) {
        assert.equal(run.info.status, 'FINISHED');
        assert.equal(param(run, 'loss.args.margin'), '0.1');
        assert.equal(param(run, 'model.image.highlight.spatial.args.lambda'), '8');
        assert.equal(param(run, 'loss.args.warmupEpochs'), '1', 'merged onto the base, not replacing it');
      }
      assert.equal(tag(runs[0], 'shnet.recipe_hash'), tag(runs[1], 'shnet.recipe_hash'));
      assert.equal(metric(runs[0], 'val/rsum'), metric(runs[1], 'val/rsum'));
      assert.equal(metric(runs[0], 'test/rsum'), metric(runs[1], 'test/rsum'));
    });

    it('the documented ways of finding the run show it', () => {
      const [, , compare, rest, setRun] = results;
      assert.match(compare.stdout, /shapes-3shnet-margin-lambda/);
      assert.match(rest.stdout, /^loss\.args\.margin = 0\.1$/m);
      assert.match(rest.stdout, /^model\.image\.highlight\.spatial\.args\.lambda = 8$/m);
      assert.match(rest.stdout, /^UI: http:\/\/127\.0\.0\.1:\d+\/#\/experiments\/\d+$/m);
      assert.equal(setRun.stdout.match(/shapes-3shnet-margin-lambda/g)?.length, 2, setRun.stdout);
    });

    it('`shnet schema --out` wrote the JSON Schema the modeline points to', () => {
      const schema = JSON.parse(readFileSync(join(dir, 'my-recipes', 'recipe.schema.json'), 'utf8')) as { properties: Record<string, unknown> };
      for (const key of ['extends', 'vars', 'model', 'loss', 'train']) assert.ok(key in schema.properties, key);
      assert.match(JSON.stringify(schema), /"lambda"/);
    });
  });

  describe('2 and 3. docs/plugins.md and docs/mlflow.md: a plugin in a tracked run, then comparing runs', () => {
    const plugin = page('plugins.md');
    const compare = page('mlflow.md');
    let server: MlflowTestServer;
    let dir = '';
    let pluginResults: StepResult[] = [];
    let compareResults: StepResult[] = [];
    before(async () => {
      server = (await servers)[1];
      dir = journeyFolder();
      // docs/plugins.md keeps the package and its recipe in `shnet-channel-gate/` of the checkout.
      writeJourneyFiles(dir, plugin, 'shnet-channel-gate');
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('2: the plugin is listed from its package, validates and is used in a run logged to MLflow', async () => {
      pluginResults = runJourney(dir, server, plugin);
      assert.match(pluginResults[0].stdout, /^ {2}channel-gate {2}Channel attention gate.*from shnet-channel-gate\]$/m);
      const [run] = await serverRuns(server, 'shapes', 'shapes-3shnet-channel-gate');
      assert.ok(run, 'the channel-gate run is on the server');
      assert.equal(run.info.status, 'FINISHED');
      assert.equal(param(run, 'model.image.highlight.semantic.type'), 'channel-gate');
      assert.equal(param(run, 'model.image.highlight.semantic.args.reduction'), '8');
      assert.equal(param(run, 'model.image.highlight.spatial.type'), 'spatial');
      assert.ok(Number.isFinite(metric(run, 'test/rsum')), 'evaluated on the test split');
    });

    it('3: baseline and 3SHNet are run and compared with the plugin run on the command line', async () => {
      compareResults = runJourney(dir, server, compare);
      const table = compareResults[1].stdout;
      for (const name of ['shapes-baseline', 'shapes-3shnet', 'shapes-3shnet-channel-gate']) assert.match(table, new RegExp(` ${name} `), table);
      assert.match(table, /params\.model\.image\.highlight\.semantic\.type/);
      assert.match(table, /test\/rsum/);
      const markdown = readFileSync(join(dir, 'comparison.md'), 'utf8');
      assert.match(markdown, /^\| run \| name \|.*\| test\/rsum \|$/m);
      assert.equal(markdown.trim().split('\n').length, 2 + 3, markdown);

      // The table is ranked by test/rsum, and the runs differ in it or in another recall.
      const runs = await Promise.all(
        ['shapes-baseline', 'shapes-3shnet', 'shapes-3shnet-channel-gate'].map(async (n) => (await serverRuns(server, 'shapes', n))[0]),
      );
      const keys = ['test/rsum', 'rsum', 'i2t/R1', 't2i/R1', 'i2t/meanr', 't2i/meanr'];
      assert.ok(
        keys.some((k) => new Set(runs.map((r) => metric(r, k))).size > 1),
        'some metric differs between the runs',
      );
      const inTableOrder = runs.slice().sort((a, b) => table.indexOf(a.info.run_id) - table.indexOf(b.info.run_id));
      const ranked = inTableOrder.map((r) => metric(r, 'test/rsum')!);
      assert.deepEqual(
        ranked,
        ranked.slice().sort((a, b) => b - a),
        'rows ranked by test/rsum, highest first',
      );
      assert.ok(existsSync(join(dir, 'mlruns')), 'runs were written to the local store first');
    });
  });

  describe('4. docs/use.md: ask a trained run, look at the data, report, serve', () => {
    const journey = page('use.md');
    let server: MlflowTestServer;
    let dir = '';
    before(async () => {
      server = (await servers)[1];
      dir = journeyFolder();
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('every journey block runs as written; the report reaches the run in MLflow, the server answers', async () => {
      const [run, data, , serve] = runJourney(dir, server, journey);
      assert.match(run.stdout, /^images of 'test' for "a small red circle left of a blue square":$/m);
      assert.match(run.stdout, /^captions of 'test' for image 3:$/m);
      assert.match(run.stdout, /^\{"image":\d+,"score":-?[\d.]+\}$|^\{\n {2}"image"/m);
      assert.match(data.stdout, /wrote test-3\.png \(256×256 pixels\)/);
      assert.ok(existsSync(join(dir, 'test-3.png')) && existsSync(join(dir, 'shapes-dev-3.png')));
      const runDir = readdirSync(join(dir, 'runs'))[0];
      assert.ok(existsSync(join(dir, 'runs', runDir, 'report.html')));
      const [tracked] = await serverRuns(server, 'shapes', 'shapes-3shnet');
      assert.equal(tracked.info.status, 'FINISHED');
      const artifacts = await new MlflowRestClient(connect(server.uri)).listArtifacts(tracked.info.run_id);
      assert.ok(
        artifacts.some((a) => a.path === 'report.html'),
        JSON.stringify(artifacts),
      );
      assert.equal(serve.stdout.match(/^\{"rank":\d,"image":\d+,"score":-?[\d.e-]+\}$/gm)?.length, 3, serve.stdout);
      assert.match(serve.stdout, /^200 image\/png$/m);
      assert.match(serve.stdout, /^\{"error":"the query text is empty"\}\n 400$/m);
    });
  });
});
