/**
 * Recipes that pass every node's own schema but could not run: each is caught by validation's checks across nodes
 * (core/recipe/cross-checks.ts and the plugins' `check`/`dataFacts` hooks), located at the value to change, before
 * anything is built. Each case was a run-time failure once (exit 1 mid-run, or exit 2 only after building).
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installedBackends } from '../../../core/backend/select';
import { formatProblem, RecipeError } from '../../../core/recipe/errors';
import { builtinManifest } from '../../../core/registry/builtin';
import { prepareRecipe } from '../../../core/run/prepare';
import { exportPrecomp } from '../../../plugins/dataset/shapes/export';
import { hasStackTrace, shnet } from '../../support/cli';
import { SHAPES_3SHNET, setFlags, tinyShapesOverrides } from '../../support/tiny-shapes';

const MANIFESTS = [builtinManifest()];

/** The problems of the tiny shapes recipe with `overrides` on top, formatted `file:line: path: message [plugin]`. */
function problemsOf(overrides: readonly string[]): string[] {
  try {
    prepareRecipe(SHAPES_3SHNET, [...tinyShapesOverrides(), ...overrides], MANIFESTS);
    return [];
  } catch (error) {
    if (!(error instanceof RecipeError)) throw error;
    return error.problems.map(formatProblem);
  }
}

describe('validation across nodes: recipes that validate also run', function () {
  this.timeout(60_000);
  let precomp = '';
  before(() => {
    precomp = mkdtempSync(join(tmpdir(), 'shnet-cross-'));
    exportPrecomp({ trainSize: 4, devSize: 2, testSize: 2, imageSize: 16, regionsPerImage: 4, featureDim: 53, maxObjects: 3 }, precomp);
  });
  const onPrecomp = (args = '') => `data={type: precomp, args: {root: ${precomp}${args}}}`;

  const cases: Array<[string, string[], RegExp[]]> = [
    [
      "a highlight narrower than its encoder (VSeM's embedDim)",
      ['model.image.highlight.semantic.args.embedDim=32'],
      [/^--set:\d+: model\.image\.highlight\.semantic\.args\.embedDim: 32 differs from the encoder's width 16 .*\[image-encoder\/3shnet\]$/],
    ],
    [
      'a spatial highlight of another width',
      ['model.image.highlight.spatial.args.embedDim=8'],
      [/model\.image\.highlight\.spatial\.args\.embedDim: 8 differs from the encoder's width 16/],
    ],
    [
      "the encoder's width changed alone: both highlights and the text side disagree",
      ['model.image.args.embedDim=32'],
      [
        /highlight\.semantic\.args\.embedDim: 16 differs from the encoder's width 32/,
        /highlight\.spatial\.args\.embedDim: 16 differs/,
        /model\.text\.args\.embedDim: captions would be embedded in 16 dimensions and images in 32/,
      ],
    ],
    [
      'image and text encoders of different widths',
      ['model.text.args.embedDim=32'],
      [/model\.text\.args\.embedDim: captions would be embedded in 32 dimensions and images in 16 .*same joint width/],
    ],
    [
      'a batch larger than the training captions',
      ['train.batchSize=200'],
      [/^--set:\d+: train\.batchSize: 200 is more than the 80 captions of split 'train'$/],
    ],
    ['a training split of one image and a batch of eight', ['data.args.trainSize=1'], [/train\.batchSize: 8 is more than the 5 captions of split 'train'/]],
    [
      'minObjects above maxObjects',
      ['data.args.minObjects=4', 'data.args.maxObjects=3'],
      [/data\.args: minObjects \(4\) exceeds maxObjects \(3\) \[dataset\/shapes\]/],
    ],
    [
      'a split the data set does not have',
      ['train.validationSplit=val', 'evaluate.split=testall'],
      [/train\.validationSplit: the data set has no split 'val' \(splits: train, dev, test\)/, /evaluate\.split: the data set has no split 'testall'/],
    ],
    [
      'coco-5fold-1k on an 8-image test split',
      ['evaluator.args.protocol=coco-5fold-1k'],
      [/evaluator\.args\.protocol: coco-5fold-1k is defined for 5000 images, and split 'test' \(evaluate\.split\) has 8 \[evaluator\/retrieval\]/],
    ],
    [
      'highlights and segmentation tokens without a segmenter',
      ['model.image.segmenter=null'],
      [/model\.image\.segmenter: is null, but args\.categoryToken, args\.segmentGridTokens, highlight\.semantic, highlight\.spatial need segmentation/],
    ],
  ];
  for (const [what, overrides, expected] of cases) {
    it(`refuses ${what}`, () => {
      const problems = problemsOf(overrides);
      assert.equal(problems.length, expected.length, problems.join('\n'));
      expected.forEach((pattern, i) => assert.match(problems[i], pattern));
    });
  }

  it('refuses a backend named explicitly that is not installed', function () {
    const missing = (['tensorflow', 'tensorflow-gpu'] as const).find((b) => !(installedBackends() as string[]).includes(b));
    if (!missing) this.skip(); // both native backends installed: nothing to refuse
    assert.match(
      problemsOf([`backend=${missing}`]).join('\n'),
      new RegExp(`--set:\\d+: backend: backend '${missing}' is not installed here \\(installed: .*; or 'auto'\\)`),
    );
  });

  it('checks a precomp data set from its headers: what its batches carry, and its split sizes', () => {
    assert.deepEqual(problemsOf([onPrecomp()]), []);
    assert.match(
      problemsOf([onPrecomp(), 'model.image.backbone={type: cnn}']).join('\n'),
      /model\.image\.backbone\.type: backbone "cnn" reads pixels, and this data set supplies none/,
    );
    assert.match(
      problemsOf([onPrecomp(), 'model.image.segmenter={type: learned}']).join('\n'),
      /model\.image\.segmenter\.type: segmenter "learned" reads pixels/,
    );
    const noSegmentation = problemsOf([onPrecomp(', segmentation: false')]).join('\n');
    assert.match(
      noSegmentation,
      /model\.image\.segmenter\.type: segmenter "precomputed" hands on the data set's segmentation arrays, and this data set supplies none/,
    );
    assert.match(
      problemsOf([onPrecomp(', segmentation: false'), 'model.image.segmenter={type: ground-truth}']).join('\n'),
      /segmenter "ground-truth" reads the data set's label maps/,
    );
    assert.match(problemsOf([onPrecomp(), 'train.batchSize=24']).join('\n'), /train\.batchSize: 24 is more than the 20 captions of split 'train'/);
  });

  it('validates a precomp recipe whose data is not on this machine (the run finds it missing)', () => {
    assert.deepEqual(problemsOf([onPrecomp().replace(precomp, join(precomp, 'elsewhere'))]), []);
  });

  it('odd but consistent recipes still validate', () => {
    for (const overrides of [
      ['train.batchSize=80'],
      ['model.image.aggregator={type: max}'],
      ['vars.embedDim=32'],
      ['data.args.minObjects=3'],
      ['evaluator.args.alsoReport=[f30k-1k]'],
    ]) {
      assert.deepEqual(problemsOf(overrides), [], overrides.join(' '));
    }
  });

  it('`shnet run` of an inconsistent recipe exits 2 with the located problem, and builds nothing', () => {
    const output = mkdtempSync(join(tmpdir(), 'shnet-cross-run-'));
    const out = shnet([
      'run',
      SHAPES_3SHNET,
      ...setFlags([...tinyShapesOverrides(), 'tracker=null', `output=${join(output, 'runs')}`, 'model.text.args.embedDim=32']),
    ]);
    assert.equal(out.status, 2, out.stderr);
    assert.match(out.stderr, /--set:\d+: model\.text\.args\.embedDim: captions would be embedded in 32/);
    assert.ok(!hasStackTrace(out.stderr));
    assert.ok(!existsSync(join(output, 'runs')), 'no run folder was made');
  });
});
