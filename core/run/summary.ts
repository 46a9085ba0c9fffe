import { describeBackend } from '../backend/select';
import type { BackendInfo } from '../contracts/services';
import { shellWord } from '../shell-word';
import type { TrainResult } from '../train/engine';
import { isCredentialKey, REDACTED, redactText } from '../recipe/secrets';
import { knownBaseline, type KnownBaseline, type ResultsFile, readResultsFile } from './known-results';

/** Where a run's seed came from: the recipe (or `--set seed=`), a fresh draw, or the checkpoint of a resumed run. */
export type SeedSource = 'recipe' | 'drawn' | 'resumed';

/** What the end-of-run summary is made from. */
export interface RunSummaryInput {
  /** The recipe path and the `--set` overrides as the command was given them. */
  readonly recipe: string;
  readonly overrides: readonly string[];
  readonly runDir: string;
  readonly seed: number;
  readonly seedSource: SeedSource;
  readonly backend: BackendInfo;
  /** The resolved recipe (its `data:` node decides which known baseline figure applies). */
  readonly resolved: Readonly<Record<string, unknown>>;
  readonly result: TrainResult;
}

/** Every metric scale a reader needs beside the test metrics. */
export interface TestSummary {
  readonly split: string;
  readonly images: number;
  readonly captions: number;
  readonly protocol: string;
  readonly ties?: string;
  readonly metrics: Readonly<Record<string, number>>;
  /** rSum sums six recalls in percent. */
  readonly rsumMax: 600;
  /** The same metrics for random rankings on this split (`rsum` included), when the evaluator says. */
  readonly chance?: Readonly<Record<string, number>>;
  /** The baseline's test rSum on this very data, from docs/results.md, when it was measured there. */
  readonly baseline?: KnownBaseline;
}

/** The end-of-run summary (`shnet run` prints it on stdout; `--json` prints this object). */
export interface RunSummary {
  readonly runDir: string;
  readonly seed: number;
  readonly seedSource: SeedSource;
  /** The command that repeats this run exactly on the same backend. */
  readonly rerun: string;
  readonly backend: string;
  readonly tracking: {
    readonly experiment: string;
    readonly experimentId: string;
    readonly runId: string;
    readonly remoteRunId?: string;
    /** A command that opens the tracker's UI on the run's local store. */
    readonly view?: string;
    /** The run's page on the tracking server. */
    readonly url?: string;
  } | null;
  readonly test: TestSummary | null;
  /** Commands to go on with: evaluate again (other protocol, tie policy, ranks), compare with other runs. */
  readonly next: readonly string[];
}

/** Builds the summary of a finished run. `results` is docs/results.json's content (read from the package by default). */
export function summarizeRun(input: RunSummaryInput, results: ResultsFile | null = readResultsFile()): RunSummary {
  const { result } = input;
  // A seed the recipe did not set is pinned on the command line, so the command repeats this run.
  const seedFlag = input.seedSource === 'recipe' ? [] : ['--set', `seed=${input.seed}`];
  const rerun = ['shnet', 'run', input.recipe, ...input.overrides.flatMap((o) => ['--set', redactOverride(o)]), ...seedFlag].map(shellWord).join(' ');
  const tracking = result.tracked
    ? {
        experiment: result.tracked.view?.experiment ?? result.tracked.experimentId,
        experimentId: result.tracked.experimentId,
        runId: result.tracked.runId,
        ...(result.tracked.remoteRunId ? { remoteRunId: result.tracked.remoteRunId } : {}),
        ...(result.tracked.view?.command ? { view: result.tracked.view.command } : {}),
        ...(result.tracked.view?.url ? { url: result.tracked.view.url } : {}),
      }
    : null;
  let test: TestSummary | null = null;
  if (result.test && result.testSplit) {
    const baseline = knownBaseline(input.resolved.data, result.testSplit.name, result.test.protocol, results);
    test = {
      split: result.testSplit.name,
      images: result.testSplit.numImages,
      captions: 5 * result.testSplit.numImages,
      protocol: result.test.protocol,
      ...(result.test.ties ? { ties: result.test.ties } : {}),
      metrics: result.test.metrics,
      rsumMax: 600,
      ...(result.test.chance ? { chance: result.test.chance } : {}),
      ...(baseline ? { baseline } : {}),
    };
  }
  const next = [
    `shnet eval ${shellWord(input.runDir)} --ties pessimistic --ranks ${shellWord(`${input.runDir}/ranks.npy`)}`,
    ...(tracking ? [`shnet compare --experiment ${shellWord(tracking.experiment)}`] : []),
  ];
  return {
    runDir: input.runDir,
    seed: input.seed,
    seedSource: input.seedSource,
    rerun,
    backend: describeBackend(input.backend),
    tracking,
    test,
    next,
  };
}

const SEED_NOTE: Record<SeedSource, string> = {
  recipe: 'set by the recipe: the same command gives the same numbers on this backend',
  drawn: 'drawn at random: rerun with the command below for the same numbers',
  resumed: "the resumed run's own",
};

/** The summary as the lines `shnet run` prints on stdout. */
export function formatRunSummary(summary: RunSummary): string {
  const lines: [string, string][] = [['run folder', summary.runDir]];
  if (summary.tracking) {
    const { experiment, experimentId, runId, remoteRunId, view, url } = summary.tracking;
    lines.push([
      'MLflow',
      `experiment ${experiment} (id ${experimentId}), run ${runId}${remoteRunId && remoteRunId !== runId ? ` (server run ${remoteRunId})` : ''}`,
    ]);
    if (url) lines.push(['look at it', url]);
    if (view) lines.push([url ? 'or locally' : 'look at it', `${view}   # then open http://127.0.0.1:5000`]);
  }
  lines.push(['seed', `${summary.seed} (${SEED_NOTE[summary.seedSource]})`]);
  lines.push(['backend', summary.backend]);
  lines.push(['rerun', summary.rerun]);
  const test = summary.test;
  if (test) {
    const m = test.metrics;
    const recall = (dir: string) => `${dir} R@1 ${fixed(m[`${dir}/R1`])}  R@5 ${fixed(m[`${dir}/R5`])}  R@10 ${fixed(m[`${dir}/R10`])}`;
    lines.push([
      'test',
      `'${test.split}': ${test.images.toLocaleString('en')} images, ${test.captions.toLocaleString('en')} captions, protocol ${test.protocol}${test.ties ? `, ties ${test.ties}` : ''}`,
    ]);
    lines.push(['', `${recall('i2t')}   ${recall('t2i')}  (percent)`]);
    const scale = [
      test.chance ? `chance ${fixed(test.chance.rsum)}` : null,
      test.baseline
        ? `baseline on this data ${fixed(test.baseline.mean)} ± ${fixed(test.baseline.std)} (${test.baseline.label}, ${test.baseline.seeds} seeds, ${test.baseline.source} at ${test.baseline.commit})`
        : 'no baseline figure recorded for this data',
    ].filter(Boolean);
    lines.push(['', `rSum ${fixed(m.rsum)} of ${test.rsumMax}; ${scale.join('; ')}`]);
  }
  summary.next.forEach((command, i) => lines.push([i === 0 ? 'next' : '', command]));
  const width = Math.max(...lines.map(([label]) => label.length));
  return `\n${lines.map(([label, text]) => `${label.padEnd(width)}  ${text}`).join('\n')}\n`;
}

function fixed(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(1);
}

/** A `--set KEY=VALUE` as the summary may print it: a secret value (marked, under a credential key, a URI password) as `***`. */
function redactOverride(override: string): string {
  const eq = override.indexOf('=');
  const key = override.slice(0, eq);
  return eq > 0 && isCredentialKey(key.split('.').pop() ?? '') ? `${key}=${REDACTED}` : redactText(override);
}
