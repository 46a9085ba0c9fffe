import assert from 'node:assert/strict';
import { matchesFilter, parseFilter } from '../../../../plugins/tracker/mlflow/local-filter';

const run = {
  params: { loss: 'triplet', 'model.embedDim': '1024' },
  metrics: { rsum: 420.5, 'i2t/R1': 70 },
  tags: { 'mlflow.runName': 'a' },
  attributes: { status: 'FINISHED' },
};

describe('local run filter (MLflow syntax subset)', () => {
  const table: [string, boolean][] = [
    ["params.loss = 'triplet'", true],
    ["params.loss != 'triplet'", false],
    ['metrics.rsum > 400', true],
    ['metrics.rsum <= 400', false],
    ['metrics.`i2t/R1` >= 70', true],
    ["tags.`mlflow.runName` = 'a'", true],
    ["params.`model.embedDim` = '1024' AND metrics.rsum > 420", true],
    ["params.loss = 'triplet' and metrics.rsum < 1", false],
    ["attributes.status = 'FINISHED'", true],
    ["params.missing = 'x'", false],
    ['', true],
  ];
  for (const [filter, expected] of table) {
    it(`${filter || '(empty)'} → ${expected}`, () => assert.equal(matchesFilter(run, parseFilter(filter)), expected));
  }

  it('rejects what it cannot read, saying what it expected', () => {
    assert.throws(() => parseFilter('rsum > 1'), /expected e\.g\. params\.lr/);
  });
});
