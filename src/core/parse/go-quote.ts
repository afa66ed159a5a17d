/** Result of the last successful readGoQuoted call; reused so the hot path allocates nothing. */
export interface QuotedRead {
  value: string;
  end: number;
}

const READ: QuotedRead = { value: '', end: 0 };

function done(value: string, end: number): QuotedRead {
  READ.value = value;
  READ.end = end;
  return READ;
}

/**
 * Reads a Go `strconv.Quote`-style string starting at `start` (the opening `"`).
 * Returns the unquoted text and the index just past the closing quote, or null if the
 * string is unterminated or has a malformed escape. The result object is shared: copy
 * its fields before the next call.
 */
export function readGoQuoted(s: string, start: number): QuotedRead | null {
  const close = s.indexOf('"', start + 1);
  if (close === -1) return null;
  // Fast path: no escapes before the first closing quote (search only that span, not the whole line).
  const plain = s.slice(start + 1, close);
  if (plain.indexOf('\\') === -1) return done(plain, close + 1);
  let out = '';
  let runStart = start + 1;
  let i = start + 1;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      out += s.slice(runStart, i);
      return done(out, i + 1);
    }
    if (c !== 0x5c) {
      i++;
      continue;
    }
    out += s.slice(runStart, i);
    const e = s[i + 1];
    let width = 2;
    switch (e) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case "'":
        out += "'";
        break;
      case 'a':
        out += '\x07';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'v':
        out += '\v';
        break;
      case 'x':
      case 'u':
      case 'U': {
        const digits = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = s.slice(i + 2, i + 2 + digits);
        if (hex.length !== digits || !/^[0-9a-fA-F]+$/.test(hex)) return null;
        const n = Number.parseInt(hex, 16);
        if (e === 'x') {
          // \xHH is a raw byte in Go; bytes above 0x7f are not text on their own, keep them visible.
          out += n < 0x80 ? String.fromCharCode(n) : `\\x${hex}`;
        } else {
          if (n > 0x10ffff) return null;
          out += String.fromCodePoint(n);
        }
        width = 2 + digits;
        break;
      }
      default: {
        const oct = s.slice(i + 1, i + 4);
        if (!/^[0-3][0-7]{2}$/.test(oct)) return null;
        const n = Number.parseInt(oct, 8);
        out += n < 0x80 ? String.fromCharCode(n) : `\\${oct}`;
        width = 4;
      }
    }
    i += width;
    runStart = i;
  }
  return null;
}
