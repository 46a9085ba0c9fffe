import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { knownBaseline, readResultsFile, type ResultsFile } from '../../../core/run/known-results';
import { formatRunSummary, summarizeRun, type RunSummaryInput } from '../../../core/run/summary';
import type { TrainResult } from '../../../core/train/engine';

const DATA = { type: 'shapes', args: { seed: 0, trainSize: 1200 } };

const RESULTS: ResultsFile = {
  commit: 'abc1234',
  made: '2026-12-04T00:00:00Z',
  command: 'npm run results',
  backend: 'wasm (2 threads, SIMD)',
  studies: [
    {
      name: 'demo',
      sweep: 'recipes/shapes/sweep-results.yaml',
      sweepId: '0123456789ab',
      data: DATA,
      split: 'test',
      protocol: 'all',
      rows: [
        { label: 'baseline (regions + GPO)', baseline: true, seeds: [0, 1], rsum: [70, 60], mean: 65, std: 7.0711, metrics: { rsum: 65 } },
        { label: '3SHNet', baseline: false, seeds: [0, 1], rsum: [330, 310], mean: 320, std: 14.1421, metrics: { rsum: 320 } },
      ],
    },
  ],
};

const METRICS = { 'i2t/R1': 20.5, 'i2t/R5': 50, 'i2t/R10': 66, 't2i/R1': 15, 't2i/R5': 40.25, 't2i/R10': 55, rsum: 246.75 };

function input(overrides: Partial<RunSummaryInput> = {}): RunSummaryInput {
  const result: TrainResult = {
    epochLosses: [1],
    validation: [],
    bestScore: 200,
    test: { protocol: 'all', ties: 'optimistic', metrics: METRICS, chance: { rsum: 3.2 } },
    testSplit: { name: 'test', numImages: 1000 },
    tracked: {
      runId: 'local1',
      experimentId: '42',
      location: './mlruns',
      view: { experiment: 'shapes', command: 'MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri ./mlruns' },
    },
    checkpoints: { best: 'b', last: 'l' },
    steps: 10,
  };
  return {
    recipe: 'recipes/shapes/3shnet.yaml',
    overrides: [],
    runDir: 'runs/shapes-3shnet-x',
    seed: 0,
    seedSource: 'recipe',
    backend: { name: 'wasm', threads: 2, simd: true },
    resolved: { data: DATA },
    result,
    ...overrides,
  };
}

describe('core/run/summary', () => {
  it('states the folder, the MLflow run and how to open it, the seed, and the test metrics on their scale', () => {
    const summary = summarizeRun(input(), RESULTS);
    assert.equal(summary.rerun, 'shnet run recipes/shapes/3shnet.yaml');
    assert.deepEqual(summary.tracking, {
      experiment: 'shapes',
      experimentId: '42',
      runId: 'local1',
      view: 'MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri ./mlruns',
    });
    assert.deepEqual(
      { images: summary.test?.images, captions: summary.test?.captions, rsumMax: summary.test?.rsumMax },
      { images: 1000, captions: 5000, rsumMax: 600 },
    );
    assert.deepEqual(summary.test?.baseline, {
      label: 'baseline (regions + GPO)',
      seeds: 2,
      mean: 65,
      std: 7.0711,
      commit: 'abc1234',
      source: 'docs/results.md',
    });
    const text = formatRunSummary(summary);
    for (const expected of [
      /^run folder +runs\/shapes-3shnet-x$/m,
      /^MLflow +experiment shapes \(id 42\), run local1$/m,
      /^look at it +MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri \.\/mlruns/m,
      /^seed +0 \(set by the recipe/m,
      /'test': 1,000 images, 5,000 captions, protocol all, ties optimistic/,
      /i2t R@1 20\.5 +R@5 50\.0 +R@10 66\.0 +t2i R@1 15\.0 +R@5 40\.3 +R@10 55\.0/,
      /rSum 246\.8 of 600; chance 3\.2; baseline on this data 65\.0 ± 7\.1 \(baseline \(regions \+ GPO\), 2 seeds, docs\/results\.md at abc1234\)/,
      /^next +shnet eval runs\/shapes-3shnet-x --ties pessimistic --ranks runs\/shapes-3shnet-x\/ranks\.npy$/m,
      /^ +shnet compare --experiment shapes$/m,
    ])
      assert.match(text, expected);
  });

  it('pins a drawn seed in the rerun command, quoting what a shell would split', () => {
    const summary = summarizeRun(input({ seedSource: 'drawn', seed: 123456, overrides: ["description=it's mine", 'train.epochs=2'] }), RESULTS);
    assert.equal(summary.rerun, "shnet run recipes/shapes/3shnet.yaml --set 'description=it'\\''s mine' --set train.epochs=2 --set seed=123456");
    assert.match(formatRunSummary(summary), /seed +123456 \(drawn at random: rerun with the command below/);
  });

  it('quotes a baseline figure only for the same data, split and protocol', () => {
    assert.equal(knownBaseline({ ...DATA, args: { ...DATA.args, trainSize: 16 } }, 'test', 'all', RESULTS), null);
    assert.equal(knownBaseline(DATA, 'dev', 'all', RESULTS), null);
    assert.equal(knownBaseline(DATA, 'test', 'f30k-1k', RESULTS), null);
    assert.equal(knownBaseline(DATA, 'test', 'all', null), null);
    const other = summarizeRun(input({ resolved: { data: { type: 'shapes', args: { seed: 7 } } } }), RESULTS);
    assert.equal(other.test?.baseline, undefined);
    assert.match(formatRunSummary(other), /no baseline figure recorded for this data/);
  });

  it('reads the results file, and none when it is missing or not results', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shnet-results-'));
    writeFileSync(join(dir, 'results.json'), JSON.stringify(RESULTS));
    writeFileSync(join(dir, 'broken.json'), '{"studies": ');
    assert.deepEqual(readResultsFile(join(dir, 'results.json')), RESULTS);
    assert.equal(readResultsFile(join(dir, 'broken.json')), null);
    assert.equal(readResultsFile(join(dir, 'missing.json')), null);
  });

  it('leaves out what a run without a tracker or an evaluator does not have', () => {
    const bare = input();
    const summary = summarizeRun({ ...bare, result: { ...bare.result, tracked: null, test: null, testSplit: null } }, RESULTS);
    assert.equal(summary.tracking, null);
    assert.equal(summary.test, null);
    const text = formatRunSummary(summary);
    assert.doesNotMatch(text, /MLflow|rSum|compare/);
    assert.match(text, /^next +shnet eval/m);
  });
});
