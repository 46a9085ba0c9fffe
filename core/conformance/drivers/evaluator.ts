import type { EmbeddingSet, Evaluator } from '../../contracts/evaluation';
import { fail, failIfAny } from '../report';
import { uniform } from '../tiny';
import type { LightDriver } from './driver';

const CHECKS = {
  report: 'report: finite metrics under its protocol',
  deterministic: 'report: deterministic',
} as const;

/**
 * `evaluator`: N = 10 images, 50 captions each near its image (D = 8): the report names the evaluator's protocol,
 * has at least one metric, all finite, and is the same twice.
 */
export const evaluatorDriver: LightDriver = {
  type: 'light',
  kind: 'evaluator',
  checks: Object.values(CHECKS),
  async run(built, recorder, { rng }) {
    const evaluator = built as Evaluator;
    const n = 10;
    const dim = 8;
    const images = uniform(n * dim, rng);
    const noise = uniform(5 * n * dim, rng, -0.1, 0.1);
    const captions = Float32Array.from(noise, (x, i) => images[Math.floor(i / (5 * dim)) * dim + (i % dim)] + x);
    const set: EmbeddingSet = { images, captions, numImages: n, dim };
    let first: Readonly<Record<string, number>> = {};
    await recorder.check(CHECKS.report, async () => {
      const report = await evaluator.evaluate(set);
      first = report.metrics;
      if (report.protocol !== evaluator.protocol) fail(`report.protocol is '${report.protocol}', the evaluator's is '${evaluator.protocol}'`);
      const entries = Object.entries(report.metrics);
      if (entries.length === 0) fail('no metrics');
      failIfAny(entries.filter(([, v]) => !Number.isFinite(v)).map(([k, v]) => `${k} = ${v}`));
      return `${entries.length} metrics (${entries
        .slice(0, 3)
        .map(([k, v]) => `${k} ${v.toFixed(1)}`)
        .join(', ')}, …)`;
    });
    await recorder.check(CHECKS.deterministic, async () => {
      const again = (await evaluator.evaluate(set)).metrics;
      failIfAny(
        Object.keys({ ...first, ...again })
          .filter((k) => first[k] !== again[k])
          .map((k) => `${k}: ${first[k]} then ${again[k]}`),
      );
    });
  },
};
