import assert from 'node:assert/strict';
import { defaultRankMetric, differingParams, orderMetrics } from '../../../../plugins/tracker/mlflow/compare-columns';
import type { RunSummary } from '../../../../plugins/tracker/mlflow/compare-data';
import { buildComparison, formatComparison } from '../../../../plugins/tracker/mlflow/compare-format';

/** The params of a baseline (highlighting and segmenter switched off) and of full 3SHNet, as a run logs them. */
const common = { 'loss.type': 'triplet', 'model.image.type': '3shnet', seed: '0' };
const baseline: RunSummary = {
  runId: 'b'.repeat(32),
  runName: 'shapes-baseline',
  status: 'FINISHED',
  params: {
    ...common,
    name: 'shapes-baseline',
    description: 'VSE∞-style baseline (regions + GPO, no segmentation) on the synthetic shapes data set',
    'model.image.args.categoryToken': 'false',
    'model.image.highlight.semantic': 'null',
    'model.image.segmenter': 'null',
  },
  metrics: { 'i2t/R1': 4.5, 'i2t/R10': 30, 'i2t/R5': 15, 'i2t/medr': 20, 'i2t/meanr': 40.5, rsum: 94.8, 't2i/R1': 4.7, 'test/rsum': 99.9 },
};
const full: RunSummary = {
  runId: 'f'.repeat(32),
  runName: 'shapes-3shnet',
  status: 'FINISHED',
  params: {
    ...common,
    name: 'shapes-3shnet',
    description: '3SHNet (VSeM + VSpM + category and grid tokens) on the synthetic shapes data set',
    'model.image.args.categoryToken': 'true',
    'model.image.highlight.semantic.type': 'semantic',
    'model.image.highlight.semantic.args.embedDim': '128',
    'model.image.segmenter.type': 'precomputed',
  },
  metrics: { 'i2t/R1': 11, 'i2t/R10': 50, 'i2t/R5': 30, 'i2t/medr': 6, 'i2t/meanr': 20.25, rsum: 151.6, 't2i/R1': 4.2, 'test/rsum': 143 },
};

describe('shnet compare: columns people can read', () => {
  it('shows param keys without a prefix, no second name column, one column per switched-off node', () => {
    assert.deepEqual(
      differingParams([baseline, full]).map((c) => c.key),
      ['description', 'model.image.args.categoryToken', 'model.image.highlight.semantic', 'model.image.segmenter'],
    );
    const table = formatComparison(buildComparison([full, baseline]), 'table');
    const header = table.split('\n')[0].split(/\s{2,}/);
    assert.deepEqual(header.slice(0, 6), [
      'run',
      'name',
      'description',
      'model.image.args.categoryToken',
      'model.image.highlight.semantic',
      'model.image.segmenter',
    ]);
    assert.doesNotMatch(table, /params\./);
    assert.equal(header.filter((h) => h === 'name').length, 1);
    const row = table.split('\n')[3].split(/\s{2,}/);
    assert.deepEqual(row.slice(3, 6), ['false', 'null', 'null'], 'the baseline has no semantic node and no segmenter');
    assert.deepEqual(
      table
        .split('\n')[2]
        .split(/\s{2,}/)
        .slice(3, 6),
      ['true', 'semantic', 'precomputed'],
      "3SHNet's nodes show their type",
    );
  });

  it('a key inside a node is a column only when it differs between the runs that have the node', () => {
    const wide = { ...full, runId: 'w'.repeat(32), params: { ...full.params, 'model.image.highlight.semantic.args.embedDim': '256' } };
    assert.ok(differingParams([baseline, full, wide]).some((c) => c.key === 'model.image.highlight.semantic.args.embedDim'));
    assert.ok(!differingParams([baseline, full]).some((c) => c.key.startsWith('model.image.highlight.semantic.')));
  });

  it('keeps the name param when it is not the run name', () => {
    const renamed = { ...full, runName: 'by-hand' };
    assert.ok(differingParams([baseline, renamed]).some((c) => c.key === 'name'));
  });

  it('shortens long values in the table and Markdown, keeps them whole in CSV and JSON', () => {
    const comparison = buildComparison([full, baseline]);
    for (const format of ['table', 'md'] as const) {
      const text = formatComparison(comparison, format);
      assert.match(text, /3SHNet \(VSeM \+ VSpM \+ category and grid…/);
      assert.doesNotMatch(text, /synthetic shapes data set/);
    }
    assert.match(formatComparison(comparison, 'csv'), /category and grid tokens\) on the synthetic shapes data set/);
    assert.equal(JSON.parse(formatComparison(comparison, 'json')).runs[0].params.description, full.params.description);
  });

  it('orders metrics R1, R5, R10, medr, meanr; i2t, t2i, then rSum; validation before test', () => {
    assert.deepEqual(buildComparison([full, baseline]).metrics, ['i2t/R1', 'i2t/R5', 'i2t/R10', 'i2t/medr', 'i2t/meanr', 't2i/R1', 'rsum']);
    assert.deepEqual(orderMetrics(['test/rsum', 'test/i2t/R10', 'rsum', 'test/i2t/R5', 't2i/R10', 'i2t/R1', 'train/loss']), [
      'i2t/R1',
      't2i/R10',
      'rsum',
      'test/i2t/R5',
      'test/i2t/R10',
      'test/rsum',
      'train/loss',
    ]);
    assert.deepEqual(buildComparison([full], ['rsum', 'i2t/R1']).metrics, ['rsum', 'i2t/R1'], 'an explicit list keeps its order');
    assert.deepEqual(orderMetrics(['test/rsum', 'val/rsum', 'val/i2t/R10', 'val/i2t/R1']), ['val/i2t/R1', 'val/i2t/R10', 'val/rsum', 'test/rsum']);
  });

  it('ranks by the test rSum when a run has one, else the validation rSum', () => {
    assert.equal(defaultRankMetric([full, baseline]), 'test/rsum');
    assert.equal(defaultRankMetric([{ ...full, metrics: { 'val/rsum': 1 } }]), 'val/rsum');
    assert.equal(defaultRankMetric([{ ...full, metrics: {} }]), undefined);
  });
});
