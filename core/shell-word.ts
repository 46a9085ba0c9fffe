/**
 * `text` as one word of a POSIX shell command line: as it is when it holds only characters no shell treats
 * specially, else in single quotes (a quote inside becoming `'\''`). For commands printed for a person to paste.
 */
export function shellWord(text: string): string {
  if (/^[\w./@:+=,%-]+$/.test(text)) return text;
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
