/**
 * A parser for the small subset of Python literal syntax that an NPY header dictionary uses:
 * dicts, tuples, lists, strings, integers, `True`, `False` and `None`.
 * numpy itself reads the header with `ast.literal_eval`; this accepts the same well-formed headers and
 * rejects anything else instead of guessing.
 */

/** A parsed Python literal. Tuples and lists both become arrays. */
export type PyLiteral = string | number | boolean | null | PyLiteral[] | { [key: string]: PyLiteral };

/** Parses `text` as one Python literal; throws `Error` with the character offset on malformed input. */
export function parsePyLiteral(text: string): PyLiteral {
  const parser = new LiteralParser(text);
  const value = parser.value();
  parser.skipSpace();
  if (!parser.atEnd()) parser.fail('unexpected trailing text');
  return value;
}

class LiteralParser {
  private pos = 0;

  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  fail(what: string): never {
    throw new Error(`${what} at offset ${this.pos} of ${JSON.stringify(this.text.slice(0, 120))}`);
  }

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos])) this.pos++;
  }

  value(): PyLiteral {
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === '{') return this.dict();
    if (c === '(') return this.sequence('(', ')');
    if (c === '[') return this.sequence('[', ']');
    if (c === "'" || c === '"') return this.string();
    if (c !== undefined && /[-+0-9]/.test(c)) return this.integer();
    for (const [word, value] of [
      ['True', true],
      ['False', false],
      ['None', null],
    ] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    return this.fail('expected a Python literal');
  }

  private expect(c: string): void {
    this.skipSpace();
    if (this.text[this.pos] !== c) this.fail(`expected '${c}'`);
    this.pos++;
  }

  /** Consumes `close` if it is next (after blanks) and says so. */
  private closes(close: string): boolean {
    this.skipSpace();
    if (this.text[this.pos] !== close) return false;
    this.pos++;
    return true;
  }

  /** Items separated by commas, with Python's optional trailing comma. */
  private items(close: string, item: () => void): void {
    if (this.closes(close)) return;
    for (;;) {
      item();
      if (this.closes(close)) return;
      this.expect(',');
      if (this.closes(close)) return;
    }
  }

  private dict(): { [key: string]: PyLiteral } {
    this.expect('{');
    const out: { [key: string]: PyLiteral } = {};
    this.items('}', () => {
      const key = this.value();
      if (typeof key !== 'string') this.fail('dictionary keys must be strings');
      this.expect(':');
      out[key] = this.value();
    });
    return out;
  }

  private sequence(open: string, close: string): PyLiteral[] {
    this.expect(open);
    const out: PyLiteral[] = [];
    this.items(close, () => out.push(this.value()));
    return out;
  }

  private string(): string {
    const quote = this.text[this.pos++];
    let out = '';
    while (this.pos < this.text.length && this.text[this.pos] !== quote) {
      if (this.text[this.pos] === '\\') this.fail('escape sequences are not supported in an NPY header');
      out += this.text[this.pos++];
    }
    if (this.atEnd()) this.fail('unterminated string');
    this.pos++;
    return out;
  }

  private integer(): number {
    const match = /^[-+]?[0-9]+L?/.exec(this.text.slice(this.pos));
    if (!match) return this.fail('expected an integer');
    this.pos += match[0].length;
    const value = Number(match[0].replace('L', ''));
    if (!Number.isSafeInteger(value)) this.fail('integer out of range');
    return value;
  }
}
