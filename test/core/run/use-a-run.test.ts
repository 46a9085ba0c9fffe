/**
 * Using a trained run (docs/use.md), end to end through the CLI on tiny real runs: `shnet run --report`,
 * `shnet query`, `shnet serve` over HTTP and in headless Chromium, and a picture file as a query.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { decodePng } from '../../../core/io/png';
import { NpyReader } from '../../../core/io/npy/npy';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../support/browser';
import { shnet } from '../../support/cli';
import { startShnet, waitFor, type RunningCli } from '../../support/cli-process';
import { SHAPES_3SHNET, setFlags, tinyShapesOverrides } from '../../support/tiny-shapes';

const TEST_IMAGES = 12;

interface Hit {
  readonly rank: number;
  readonly image: number;
  readonly score: number;
  readonly captions: string[];
}
interface CaptionHit {
  readonly caption: number;
  readonly image: number;
  readonly score: number;
  readonly text: string;
}

function readMatrix(path: string): { rows: number; dim: number; data: Float32Array } {
  const reader = NpyReader.open(path);
  try {
    return { rows: reader.rowCount, dim: reader.rowLength, data: reader.readAllSync() };
  } finally {
    reader.close();
  }
}

/** Exact top-k rows of `matrix` for `query` by inner product, with scores. */
function exactTop(matrix: { rows: number; dim: number; data: Float32Array }, query: Float32Array, k: number): { row: number; score: number }[] {
  const scored = Array.from({ length: matrix.rows }, (_, row) => {
    let score = 0;
    for (let d = 0; d < matrix.dim; d++) score += matrix.data[row * matrix.dim + d] * query[d];
    return { row, score };
  });
  return scored.sort((a, b) => b.score - a.score || a.row - b.row).slice(0, k);
}

function trainTiny(dir: string, extra: readonly string[], flags: readonly string[] = []): string {
  const out = join(dir, 'runs');
  const overrides = [
    ...tinyShapesOverrides(),
    `data.args.testSize=${TEST_IMAGES}`,
    `output=${out}`,
    'tracker.type=mlflow',
    `tracker.args.localStore=${join(dir, 'mlruns')}`,
    ...extra,
  ];
  const before = existsSync(out) ? readdirSync(out) : [];
  const trained = shnet(['run', SHAPES_3SHNET, ...setFlags(overrides), ...flags], { cwd: dir });
  assert.equal(trained.status, 0, trained.stderr);
  return join(
    out,
    readdirSync(out).find((name) => !before.includes(name))!,
  );
}

describe('using a trained run: report, query, serve @slow', function () {
  this.timeout(300_000);
  let dir: string;
  let runDir: string;
  let images: ReturnType<typeof readMatrix>;
  let captions: ReturnType<typeof readMatrix>;
  let captionTexts: string[];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'shnet-use-'));
    runDir = trainTiny(dir, [], ['--report']);
    const encoded = shnet(['encode', runDir, '--out', join(dir, 'encoded')], { cwd: dir });
    assert.equal(encoded.status, 0, encoded.stderr);
    images = readMatrix(join(dir, 'encoded', 'images.npy'));
    captions = readMatrix(join(dir, 'encoded', 'captions.npy'));
    captionTexts = readFileSync(join(dir, 'encoded', 'captions.txt'), 'utf8')
      .trimEnd()
      .split('\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const captionVector = (j: number) => captions.data.subarray(j * captions.dim, (j + 1) * captions.dim);
  const imageVector = (i: number) => images.data.subarray(i * images.dim, (i + 1) * images.dim);

  it('`shnet run --report` writes report.html with the run’s test recall and logs it to the tracked run', () => {
    const html = readFileSync(join(runDir, 'report.html'), 'utf8');
    const evaluation = JSON.parse(readFileSync(join(runDir, 'evaluation.json'), 'utf8')) as { test: { protocol: string; metrics: Record<string, number> } };
    assert.equal(evaluation.test.protocol, 'all', 'the report ranks against the whole split, as protocol all');
    for (const [row, key] of [
      ['image → text', 'i2t'],
      ['text → image', 't2i'],
    ]) {
      const cells = new RegExp(`<tr><td>${row}</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>`).exec(html);
      assert.ok(cells, `${row} row`);
      const m = evaluation.test.metrics;
      assert.deepEqual(cells.slice(1), [m[`${key}/R1`].toFixed(1), m[`${key}/R5`].toFixed(1), m[`${key}/R10`].toFixed(1), m[`${key}/medr`].toFixed(0)]);
    }
    for (const heading of [
      'Recall by caption type',
      'states a spatial relation',
      'objects in the image',
      'image has a layout twin',
      'sampled captions',
      'sampled images',
      'Worst failures',
    ]) {
      assert.ok(html.includes(heading), heading);
    }
    assert.ok((html.match(/<img src="data:image\/png;base64,/g) ?? []).length >= 6, 'pictures embedded');
    assert.ok(!/<script|src="http|href="http/.test(html), 'self-contained');
    const mlruns = join(dir, 'mlruns');
    const artifacts = readdirSync(mlruns)
      .filter((e) => /^\d+$/.test(e) && e !== '0')
      .flatMap((e) => readdirSync(join(mlruns, e)).map((r) => join(mlruns, e, r)))
      .filter((run) => existsSync(join(run, 'artifacts', 'report.html')));
    assert.equal(artifacts.length, 1);
    assert.match(readFileSync(join(artifacts[0], 'meta.yaml'), 'utf8'), /^status: 3$/m, 'the run is FINISHED again');
  });

  it('`shnet query --text` ranks the split’s images by the run’s own encoders, exactly', () => {
    const result = shnet(['query', runDir, '--text', captionTexts[7], '-k', '5', '--json'], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    const answer = JSON.parse(result.stdout) as { split: string; numImages: number; unknownWords: string[]; hits: Hit[] };
    assert.deepEqual([answer.split, answer.numImages, answer.unknownWords], ['test', TEST_IMAGES, []]);
    const expected = exactTop(images, captionVector(7), 5);
    assert.deepEqual(
      answer.hits.map((h) => h.image),
      expected.map((e) => e.row),
    );
    answer.hits.forEach((h, i) => {
      assert.ok(Math.abs(h.score - expected[i].score) < 1e-5);
      assert.equal(h.rank, i + 1);
      assert.deepEqual(h.captions, captionTexts.slice(5 * h.image, 5 * h.image + 5));
    });
    assert.match(result.stderr, /images index of 'test': exact search over 12 vectors \(built in/);

    const table = shnet(['query', runDir, '--text', `${captionTexts[7]} near a zebra-crossing`], { cwd: dir });
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /^not in the vocabulary \(read as unknown words\): near, zebra, crossing$/m);
    assert.match(table.stdout, /^rank {2}image {2}score {4}first of its captions$/m);
    assert.match(table.stderr, /\(loaded, /, 'the index built by the first query is reloaded');
  });

  it('`shnet query --image ID` ranks the split’s captions, its own marked', () => {
    const result = shnet(['query', runDir, '--image', '3', '-k', '6', '--json'], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    const hits = (JSON.parse(result.stdout) as { hits: CaptionHit[] }).hits;
    const expected = exactTop(captions, imageVector(3), 6);
    assert.deepEqual(
      hits.map((h) => h.caption),
      expected.map((e) => e.row),
    );
    hits.forEach((h) => {
      assert.equal(h.text, captionTexts[h.caption]);
      assert.equal(h.image, Math.floor(h.caption / 5));
    });
    const table = shnet(['query', runDir, '--image', '3', '-k', '60', '--exact-below', '0'], { cwd: dir });
    assert.equal(table.status, 0, table.stderr);
    assert.equal(table.stdout.match(/ 3 \(its own\) /g)?.length, 5);
    assert.match(table.stderr, /captions index of 'test': HNSW graph over 60 vectors \(rebuilt in/);
  });

  it('refuses bad queries with exit 2 and a message', () => {
    const cases: [string[], RegExp][] = [
      [['--text', '   '], /the query text is empty/],
      [['--text', 'zebra giraffe'], /none of the query's words is in the model's vocabulary \(zebra, giraffe\)/],
      [['--text', 'a red circle', '-k', '13'], /k must be an integer from 1 to 12, got 13/],
      [['--text', 'a', '--image', '2'], /exactly one of --text SENTENCE, --image ID\|FILE/],
      [['--image', '12'], /image 12 is not in split 'test' \(images 0\.\.11\)/],
      [['--image', join(dir, 'missing.png')], /missing\.png: no such file \(give an image number, or a PNG file\)/],
    ];
    for (const [args, message] of cases) {
      const result = shnet(['query', runDir, ...args], { cwd: dir });
      assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });

  describe('`shnet serve`', () => {
    let server: RunningCli;
    let url: string;

    const start = async (): Promise<void> => {
      server = startShnet(['serve', runDir, '--port', '0', '--exact-below', '0'], { cwd: dir });
      await waitFor(
        () => /on (http:\/\/127\.0\.0\.1:\d+)/.test(server.output()),
        60_000,
        () => server.output(),
      );
      url = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(server.output())![1];
    };
    const get = async (path: string, init?: RequestInit) => {
      const response = await fetch(`${url}${path}`, init);
      const type = response.headers.get('content-type') ?? '';
      return {
        status: response.status,
        type,
        body: type.startsWith('application/json') ? ((await response.json()) as Record<string, unknown>) : null,
        bytes: type.startsWith('image/') ? new Uint8Array(await response.arrayBuffer()) : null,
      };
    };

    before(start);
    after(async () => {
      server.child.kill('SIGTERM');
      await server.exited;
    });

    it('answers /health and /query over loopback, through an HNSW index, with the exact results', async () => {
      const health = await get('/health');
      assert.deepEqual(health.body, {
        status: 'ok',
        split: 'test',
        images: TEST_IMAGES,
        captions: 5 * TEST_IMAGES,
        index: { kind: 'ann', size: TEST_IMAGES, origin: 'rebuilt' },
      });
      const answer = await get(`/query?text=${encodeURIComponent(captionTexts[20])}&k=4`);
      assert.equal(answer.status, 200);
      const hits = answer.body!.hits as (Hit & { url: string })[];
      const expected = exactTop(images, captionVector(20), 4);
      assert.deepEqual(
        hits.map((h) => h.image),
        expected.map((e) => e.row),
      );
      assert.deepEqual(
        hits.map((h) => h.url),
        expected.map((e) => `/images/${e.row}.png`),
      );
      const byImage = await get('/query?image=5&k=3');
      assert.deepEqual(
        (byImage.body!.hits as CaptionHit[]).map((h) => h.caption),
        exactTop(captions, imageVector(5), 3).map((e) => e.row),
      );
    });

    it('serves the pictures of the split', async () => {
      const picture = await get('/images/5.png');
      assert.equal(picture.type, 'image/png');
      const decoded = decodePng(picture.bytes!, '/images/5.png');
      assert.deepEqual([decoded.width, decoded.height], [256, 256]);
      const overlaid = await get('/images/5.png?overlay=1');
      assert.notDeepEqual(decodePng(overlaid.bytes!, 'overlay').rgb, decoded.rgb);
    });

    it('answers every bad request with a 4xx and a message, and keeps serving', async () => {
      const bad: [string, number, RegExp, RequestInit?][] = [
        ['/query?text=', 400, /the query text is empty/],
        ['/query?text=%20%20', 400, /the query text is empty/],
        [`/query?text=${'a'.repeat(1001)}`, 400, /the query text has 1001 characters; at most 1000/],
        ['/query?text=red&k=0', 400, /k must be an integer from 1 to 12, got 0/],
        ['/query?text=red&k=13', 400, /k must be an integer from 1 to 12, got 13/],
        ['/query?text=red&k=-1', 400, /k must be an integer from 1 to 12, got '-1'/],
        ['/query?text=red&k=3.5', 400, /got '3\.5'/],
        ['/query?text=red&k=1&k=2', 400, /parameter 'k' is given more than once/],
        ['/query?text=a%E0%A4%A', 400, /malformed query string/],
        ['/query?text=%', 400, /malformed query string/],
        ['/query?txt=red', 400, /unknown parameter 'txt'/],
        ['/query', 400, /give exactly one of text=SENTENCE or image=ID/],
        ['/query?text=red&image=1', 400, /give exactly one of/],
        ['/query?text=zebra%20giraffe', 400, /none of the query's words is in the model's vocabulary/],
        ['/query?image=12', 400, /image 12 is not in the split \(images 0\.\.11\)/],
        ['/query?image=abc', 400, /image must be an image number from 0 to 11, got 'abc'/],
        ['/images/12.png', 400, /image 12 is not in the split/],
        ['/images/-1.png', 400, /got '-1'/],
        ['/images/%E0%A4.png', 400, /malformed path/],
        ['/nowhere', 404, /no such endpoint: \/nowhere/],
        ['/query?text=red', 405, /method POST is not allowed/, { method: 'POST' }],
      ];
      for (const [path, status, message, init] of bad) {
        const answer = await get(path, init);
        assert.equal(answer.status, status, path);
        assert.match(String(answer.body?.error), message, path);
      }
      assert.equal((await get('/health')).status, 200);
      assert.equal(server.child.exitCode, null, 'still running');
    });

    it('serves concurrent clients, good and bad requests mixed', async () => {
      const requests = Array.from({ length: 32 }, (_, i) =>
        i % 4 === 3 ? get('/query?text=&k=2') : get(`/query?text=${encodeURIComponent(captionTexts[i])}&k=3`),
      );
      const answers = await Promise.all(requests);
      answers.forEach((answer, i) => {
        if (i % 4 === 3) return assert.equal(answer.status, 400);
        assert.equal(answer.status, 200);
        assert.deepEqual(
          (answer.body!.hits as Hit[]).map((h) => h.image),
          exactTop(images, captionVector(i), 3).map((e) => e.row),
        );
      });
    });

    it('works in a real browser: the search page shows the retrieved pictures, unknown words and errors', async () => {
      const profile = mkdtempSync(join(tmpdir(), 'shnet-chromium-'));
      const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
      try {
        const page = await browser.newPage();
        await page.goto(url);
        assert.match(await page.title(), /shnet search: test/);
        await page.fill('#k', '4');
        await page.fill('#text', `${captionTexts[20]} zebra`);
        await page.press('#text', 'Enter');
        await page.locator('figure.hit').nth(3).waitFor({ timeout: 20_000 });
        assert.equal(await page.locator('figure.hit').count(), 4);
        const expected = exactTop(images, captionVector(20), 1)[0].row;
        assert.equal(await page.locator('figure.hit img').first().getAttribute('alt'), `image ${expected}`);
        await page.waitForFunction("[...document.querySelectorAll('figure.hit img')].every((img) => img.naturalWidth === 256)");
        assert.equal(await page.locator('#unknown').textContent(), 'not in the vocabulary: zebra');
        await page.fill('#text', '');
        await page.press('#text', 'Enter');
        await page.locator('#status.error').waitFor({ timeout: 20_000 });
        assert.equal(await page.locator('#status').textContent(), 'the query text is empty');
        assert.equal(await page.locator('figure.hit').count(), 0);
      } finally {
        await browser.close();
        rmSync(profile, { recursive: true, force: true });
      }
    });

    it('reloads its saved index when started again', async () => {
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0);
      await start();
      assert.match(server.output(), /images index of 'test': HNSW graph over 12 vectors \(loaded, /);
      assert.equal(((await get('/health')).body!.index as { origin: string }).origin, 'loaded');
    });
  });

  it('`shnet query --image FILE` encodes a picture with a pixel-input model as the same image of the split', () => {
    const pixelRun = trainTiny(dir, [
      'model.image.backbone.type=cnn',
      'model.image.backbone.args={channels: [8, 8], output: grid}',
      'model.image.segmenter=null',
      'model.image.highlight.semantic=null',
      'model.image.highlight.spatial=null',
      'model.image.args.categoryToken=false',
      'model.image.args.segmentGridTokens=false',
    ]);
    const picture = join(dir, 'test-3.png');
    const shown = shnet(['data', 'show', '3', '--run', pixelRun, '--out', picture], { cwd: dir });
    assert.equal(shown.status, 0, shown.stderr);
    const byId = shnet(['query', pixelRun, '--image', '3', '-k', '5', '--json'], { cwd: dir });
    const byFile = shnet(['query', pixelRun, '--image', picture, '-k', '5', '--json'], { cwd: dir });
    assert.equal(byFile.status, 0, byFile.stderr);
    const [a, b] = [byId, byFile].map((r) => (JSON.parse(r.stdout) as { hits: CaptionHit[] }).hits);
    assert.deepEqual(
      b.map((h) => h.caption),
      a.map((h) => h.caption),
    );
    b.forEach((h, i) => assert.ok(Math.abs(h.score - a[i].score) < 1e-5));
    const regions = shnet(['query', runDir, '--image', picture], { cwd: dir });
    assert.equal(regions.status, 2);
    assert.match(regions.stderr, /cannot encode a picture on its own \(backbone "precomputed" needs ImageInputs\.regions/);
  });
});
