/**
 * Every fenced block of README.md and docs/*.md says what it is (test/support/doc-journey.ts): a command block is run
 * by test/docs/journeys.test.ts or says why not, so a page cannot show a command nobody ran.
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { blockProblems, docBlocks } from '../support/doc-journey';
import { REPO_ROOT } from '../support/python-env';
import { JOURNEYS } from './journey-pages';

const PAGES = [
  'README.md',
  ...readdirSync(join(REPO_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];
const read = (page: string) => readFileSync(join(REPO_ROOT, page), 'utf8');

describe('documentation blocks: run as written, or say why not', () => {
  for (const page of PAGES) {
    it(`${page}: every block has a language, every command block is a journey or not-run with a reason`, () => {
      assert.deepEqual(blockProblems(read(page), page), []);
    });
  }

  it('every page with journey blocks is run by test/docs/journeys.test.ts', () => {
    const run = new Set(JOURNEYS.flatMap((j) => j.pages));
    for (const page of PAGES) {
      const journeys = docBlocks(read(page)).filter((b) => b.attrs.has('journey'));
      if (journeys.length > 0) assert.ok(run.has(page), `${page} has ${journeys.length} journey blocks, but no journey in test/docs/journey-pages.ts runs it`);
    }
  });

  it('catches a command block that is neither run nor explained, a bare block, and commands dressed as text', () => {
    const page = [
      '```sh',
      'npx shnet run r.yaml',
      '```',
      '```',
      'plain',
      '```',
      '```text',
      'npx shnet validate r.yaml',
      '```',
      '```sh not-run="x"',
      'ls',
      '```',
    ].join('\n');
    const problems = blockProblems(page, 'p.md');
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.match(problems[0], /^p\.md:1: a command block that no test runs/);
    assert.match(problems[1], /^p\.md:4: a block without a language/);
    assert.match(problems[2], /^p\.md:7: a text block that reads as commands/);
    assert.match(problems[3], /^p\.md:10: not-run needs a reason/);
    assert.deepEqual(blockProblems('```sh not-run="needs a second machine"\nshnet worker\n```\n```text\nshnet eval RUN [--split S]\n```\n', 'ok.md'), []);
    // An example shows what the command above it printed on a full-size run; anywhere else it would show nothing's output.
    assert.deepEqual(blockProblems('```sh journey\nshnet query RUN --text t\n```\n```text example\nrank  image\n```\n', 'ok.md'), []);
    const stray = blockProblems('```yaml\na: 1\n```\n```text example\nrank  image\n```\n', 'p.md');
    assert.deepEqual(stray, ['p.md:4: an example block must follow a journey block']);
  });
});
