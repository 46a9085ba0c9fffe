import { existsSync, readFileSync } from 'node:fs';
import { UsageError } from 'shnet';

/** How text is normalised before WordPiece (Hugging Face's `BertTokenizer` / `BertNormalizer` settings). */
export interface WordPieceOptions {
  /** Lower-case the text (uncased models). */
  readonly lowercase: boolean;
  /** Remove accents (NFD, then drop combining marks); `null` follows `lowercase`, as Hugging Face does. */
  readonly stripAccents: boolean | null;
  /** Words longer than this many characters become `[UNK]` (BERT: 100). */
  readonly maxCharsPerWord: number;
}

export const UNCASED: WordPieceOptions = { lowercase: true, stripAccents: null, maxCharsPerWord: 100 };

/** The special tokens BERT's vocabulary must hold. */
const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

/** Words already split into WordPiece ids are remembered up to this many distinct words. */
const WORD_CACHE_LIMIT = 100_000;

/**
 * BERT's tokenizer, as Hugging Face's `BertTokenizer` (and the `tokenizers` library's `BertNormalizer` +
 * `BertPreTokenizer` + `WordPiece`) computes it:
 *
 * 1. Basic tokenizer: drop NUL, U+FFFD and control characters; map whitespace to spaces; put spaces around CJK
 *    ideographs (each becomes its own word — the minimal CJK handling BERT itself has: no word segmentation);
 *    lower-case and strip accents (uncased); split on whitespace, then split every punctuation character
 *    (ASCII symbols and Unicode P*) into a word of its own.
 * 2. WordPiece per word: greedy longest-match-first against the vocabulary, continuation pieces prefixed `##`;
 *    a word with an unmatched remainder, or longer than 100 characters, becomes a single `[UNK]`.
 *
 * Not handled: special-token strings written inside the text (`"[MASK]"` in a caption is tokenized as the five
 * characters it is), and Hugging Face's extra NFC pass for cased models.
 */
export class WordPieceTokenizer {
  readonly padId: number;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly maskId: number;
  private readonly ids: Map<string, number>;
  private readonly cache = new Map<string, readonly number[]>();

  /**
   * @param vocab token per id (the lines of `vocab.txt`)
   * @param source where the vocabulary came from, for error messages
   */
  constructor(
    readonly vocab: readonly string[],
    readonly options: WordPieceOptions = UNCASED,
    source = 'vocabulary',
  ) {
    this.ids = new Map();
    vocab.forEach((token, id) => this.ids.set(token, id)); // a repeated token keeps its last id, as in BertTokenizer
    const missing = SPECIALS.filter((t) => !this.ids.has(t));
    if (missing.length > 0) throw new UsageError(`${source}: BERT vocabulary lacks ${missing.join(', ')}`);
    [this.padId, this.unkId, this.clsId, this.sepId, this.maskId] = SPECIALS.map((t) => this.ids.get(t)!);
  }

  /** Reads `vocab.txt` (one token per line, id = line number). */
  static fromVocabFile(path: string, options: WordPieceOptions = UNCASED): WordPieceTokenizer {
    if (!existsSync(path)) throw new UsageError(`${path}: vocabulary file not found`);
    const lines = readFileSync(path, 'utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return new WordPieceTokenizer(
      lines.map((l) => l.replace(/\r$/, '')),
      options,
      path,
    );
  }

  get size(): number {
    return this.vocab.length;
  }

  /** Id of a token string, if it is in the vocabulary. */
  id(token: string): number | undefined {
    return this.ids.get(token);
  }

  /** Step 1: the words of `text` (strings after normalisation and punctuation splitting). */
  basicTokenize(text: string): string[] {
    let cleaned = '';
    for (const ch of text) {
      const cp = ch.codePointAt(0)!;
      if (cp === 0 || cp === 0xfffd || isControl(ch)) continue;
      if (isWhitespace(ch)) cleaned += ' ';
      else if (isCjk(cp)) cleaned += ` ${ch} `;
      else cleaned += ch;
    }
    const words: string[] = [];
    for (let word of cleaned.split(' ')) {
      if (word === '') continue;
      if (this.options.lowercase) word = word.toLowerCase();
      if (this.options.stripAccents ?? this.options.lowercase) word = word.normalize('NFD').replace(/\p{Mn}/gu, '');
      let current = '';
      for (const ch of word) {
        if (isPunctuation(ch)) {
          if (current) words.push(current);
          words.push(ch);
          current = '';
        } else {
          current += ch;
        }
      }
      if (current) words.push(current);
    }
    return words;
  }

  /** Step 2: WordPiece ids of one word (a single `[UNK]` when it cannot be split). */
  wordPieces(word: string): readonly number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const pieces = this.splitWord(word);
    if (this.cache.size >= WORD_CACHE_LIMIT) this.cache.clear();
    this.cache.set(word, pieces);
    return pieces;
  }

  /** WordPiece ids of every word of `text`, grouped by word (augmentation acts on whole words). */
  words(text: string): (readonly number[])[] {
    return this.basicTokenize(text).map((w) => this.wordPieces(w));
  }

  /** Words of `text` that become `[UNK]` (no split into vocabulary pieces, or too long), in order. */
  unknownWords(text: string): string[] {
    return this.basicTokenize(text).filter((w) => this.wordPieces(w).includes(this.unkId));
  }

  /** Token strings of ids (for inspection and tests). */
  tokens(ids: readonly number[]): string[] {
    return ids.map((i) => this.vocab[i] ?? '[UNK]');
  }

  private splitWord(word: string): number[] {
    const chars = Array.from(word);
    if (chars.length > this.options.maxCharsPerWord) return [this.unkId];
    const out: number[] = [];
    for (let start = 0; start < chars.length;) {
      let found: number | undefined;
      let end = chars.length;
      for (; end > start; end--) {
        const piece = (start > 0 ? '##' : '') + chars.slice(start, end).join('');
        found = this.ids.get(piece);
        if (found != null) break;
      }
      if (found == null) return [this.unkId];
      out.push(found);
      start = end;
    }
    return out;
  }
}

/** Reads `tokenizer_config.json` beside a vocabulary when present (cased models say `do_lower_case: false`). */
export function readWordPieceOptions(path: string): WordPieceOptions {
  if (!existsSync(path)) return UNCASED;
  const json = JSON.parse(readFileSync(path, 'utf8')) as { do_lower_case?: unknown; strip_accents?: unknown };
  return {
    lowercase: typeof json.do_lower_case === 'boolean' ? json.do_lower_case : true,
    stripAccents: typeof json.strip_accents === 'boolean' ? json.strip_accents : null,
    maxCharsPerWord: 100,
  };
}

function isWhitespace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || /\p{Zs}/u.test(ch);
}

function isControl(ch: string): boolean {
  return ch !== '\t' && ch !== '\n' && ch !== '\r' && /\p{C}/u.test(ch);
}

/** ASCII symbols count as punctuation even where Unicode says otherwise (`$`, `+`, `^`, `` ` ``…), as in BERT. */
function isPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return /\p{P}/u.test(ch);
}

/** The CJK Unified Ideographs blocks BERT singles out (not Hiragana, Katakana or Hangul). */
function isCjk(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}
