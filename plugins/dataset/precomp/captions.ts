import { readFileSync } from 'node:fs';
import { UsageError } from 'shnet';

/**
 * The longest caption accepted, in characters. The reference's captions are sentences (COCO's longest is under 300
 * characters); a "caption" of megabytes is a broken file, and tokenising it would stall the run.
 */
export const MAX_CAPTION_CHARS = 10_000;

/**
 * Reads a split's captions, one per line, and refuses a file that is not what the precomp layout means by one: text
 * that is not UTF-8, a NUL byte, an empty line (it would shift every later caption onto the wrong image), a caption
 * longer than {@link MAX_CAPTION_CHARS}, or a count that is not five per image. Each refusal is a {@link UsageError}
 * naming the file and line.
 */
export function readCaptions(path: string): string[] {
  const bytes = readFileSync(path);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`${path}:${firstInvalidLine(bytes)}: not UTF-8 text (captions are read as UTF-8)`);
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((line, i) => {
    const where = `${path}:${i + 1}`;
    if (line.includes('\0')) throw new UsageError(`${where}: the caption holds a NUL byte (a binary file?)`);
    if (line.trim() === '') throw new UsageError(`${where}: empty caption (every line is a caption; an empty one shifts the rest onto the wrong images)`);
    if (line.length > MAX_CAPTION_CHARS) {
      throw new UsageError(
        `${where}: a caption of ${line.length.toLocaleString('en')} characters (at most ${MAX_CAPTION_CHARS.toLocaleString('en')}): not a sentence`,
      );
    }
  });
  if (lines.length === 0 || lines.length % 5 !== 0) {
    throw new UsageError(`${path}: ${lines.length} captions, expected 5 per image (a multiple of 5)`);
  }
  return lines;
}

/** The 1-based line holding the first byte sequence that is not UTF-8. */
function firstInvalidLine(bytes: Buffer): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let line = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      try {
        decoder.decode(bytes.subarray(start, i));
      } catch {
        return line;
      }
      line++;
      start = i + 1;
    }
  }
  return line;
}
