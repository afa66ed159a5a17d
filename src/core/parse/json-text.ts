const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const LINE_BREAK_RE = /[\r\n]/g;

// String.prototype.isWellFormed is native in Node 20 but missing from the ES2023 lib typings.
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * Makes already-valid JSON text safe to emit as one UTF-8 line: raw CR/LF can only be
 * whitespace between tokens there, and lone surrogates (inside strings) become `\uXXXX` escapes.
 * `mayHaveLineBreaks: false` skips the CR/LF search for text already known to have none.
 */
export function toSingleLineJson(text: string, mayHaveLineBreaks = true): string {
  if (mayHaveLineBreaks && (text.indexOf('\n') !== -1 || text.indexOf('\r') !== -1))
    text = text.replace(LINE_BREAK_RE, ' ');
  if (!isWellFormed(text)) {
    text = text.replace(LONE_SURROGATE_RE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  return text;
}
