/**
 * Splits crushtool text into tokens with positions. Like crushtool, `#` starts a comment that runs
 * to the end of the line wherever it appears (even inside a word); whitespace separates words;
 * `{ } [ ]` are tokens of their own even without surrounding spaces.
 */
export interface Token {
  /** `word` is any run of other non-space characters; `eof` marks the end of the input. */
  kind: 'word' | '{' | '}' | '[' | ']' | 'eof';
  text: string;
  line: number;
  column: number;
}

const PUNCT = new Set(['{', '}', '[', ']']);

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let lineStart = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      lineStart = ++i;
    } else if (isSpace(c)) {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (PUNCT.has(c)) {
      tokens.push({ kind: c as Token['kind'], text: c, line, column: i - lineStart + 1 });
      i++;
    } else {
      const start = i;
      while (i < text.length && !isSpace(text[i]!) && !PUNCT.has(text[i]!) && text[i] !== '#') i++;
      tokens.push({ kind: 'word', text: text.slice(start, i), line, column: start - lineStart + 1 });
    }
  }
  tokens.push({ kind: 'eof', text: '', line, column: i - lineStart + 1 });
  return tokens;
}
