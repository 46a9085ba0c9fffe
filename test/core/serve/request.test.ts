import { strict as assert } from 'node:assert';
import { HttpError, integerParameter, parseQueryString } from '../../../core/serve/request';

describe('query strings of shnet serve (core/serve/request)', () => {
  const rejects = (search: string, allowed: string[], message: RegExp) =>
    assert.throws(
      () => parseQueryString(search, allowed),
      (e: unknown) => e instanceof HttpError && e.status === 400 && message.test(e.message),
    );

  it('decodes percent escapes and plus signs', () => {
    const params = parseQueryString('?text=a+red%20circle%2C+left&k=5', ['text', 'k']);
    assert.deepEqual(
      [...params],
      [
        ['text', 'a red circle, left'],
        ['k', '5'],
      ],
    );
    assert.equal(parseQueryString('text=caf%C3%A9&', ['text']).get('text'), 'café');
    assert.equal(parseQueryString('text', ['text']).get('text'), '');
  });

  it('refuses malformed escapes, unknown and repeated parameters with a 400', () => {
    rejects('text=%E0%A4%A', ['text'], /malformed query string/);
    rejects('text=100%', ['text'], /malformed query string/);
    rejects('q=x', ['text', 'k'], /unknown parameter 'q' \(this endpoint takes text, k\)/);
    rejects('text=a&text=b', ['text'], /parameter 'text' is given more than once/);
  });

  it('reads integers within a range', () => {
    const params = new Map([
      ['k', '7'],
      ['big', '1000000000000'],
      ['neg', '-3'],
    ]);
    assert.equal(integerParameter(params, 'k', 10, 1, 20), 7);
    assert.equal(integerParameter(params, 'absent', 10, 1, 20), 10);
    assert.throws(() => integerParameter(params, 'k', 10, 1, 5), /from 1 to 5, got 7/);
    assert.throws(() => integerParameter(params, 'big', 10, 1, 5), /got '1000000000000'/);
    assert.throws(() => integerParameter(params, 'neg', 10, 1, 5), /got '-3'/);
  });
});
