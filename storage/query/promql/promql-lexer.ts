// Tokens of the PromQL subset (promql-parser.ts). The lexer knows every
// PromQL operator, so that what the subset leaves out is refused by name
// ("binary operator +") instead of as a stray character.

import { GatewayError } from '../../../core/errors.js';

export type TokenKind = 'ident' | 'string' | 'number' | 'duration' | 'punct' | 'op' | 'end';

export interface Token {
  kind: TokenKind;
  text: string;
  /** the decoded string, number or duration (ms) */
  value?: string | number;
  at: number;
}

const IDENT = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const NUMBER = /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const DURATION = /(?:\d+(?:ms|s|m|h|d|w|y))+/y;
const DURATION_PART = /(\d+)(ms|s|m|h|d|w|y)/g;
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};
/** Longest first, so `!=` is not read as `!` then `=`. */
const OPERATORS = ['=~', '!~', '!=', '==', '>=', '<=', '=', '>', '<', '+', '-', '*', '/', '%', '^', '@'];
const PUNCT = '(){}[],:';

export function invalid(message: string): GatewayError {
  return new GatewayError('GW_ERR_PROMQL_INVALID', [message]);
}

export function unsupported(message: string): GatewayError {
  return new GatewayError('GW_ERR_PROMQL_UNSUPPORTED', [message]);
}

export function durationMs(text: string): number {
  let ms = 0;
  for (const [, n, unit] of text.matchAll(DURATION_PART)) ms += Number(n) * UNIT_MS[unit!]!;
  return ms;
}

export function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < input.length) {
    const c = input[at]!;
    if (/\s/.test(c)) {
      at++;
      continue;
    }
    if (c === '#') {
      while (at < input.length && input[at] !== '\n') at++;
      continue;
    }
    const token = nextToken(input, at);
    tokens.push(token);
    at += token.text.length;
  }
  tokens.push({ kind: 'end', text: '', at });
  return tokens;
}

function nextToken(input: string, at: number): Token {
  const c = input[at]!;
  if (c === '"' || c === "'" || c === '`') return stringToken(input, at);
  const duration = sticky(DURATION, input, at);
  if (duration !== null) return { kind: 'duration', text: duration, value: durationMs(duration), at };
  const number = sticky(NUMBER, input, at);
  if (number !== null) return { kind: 'number', text: number, value: Number(number), at };
  const ident = sticky(IDENT, input, at);
  if (ident !== null) return { kind: 'ident', text: ident, at };
  if (PUNCT.includes(c)) return { kind: 'punct', text: c, at };
  const op = OPERATORS.find((o) => input.startsWith(o, at));
  if (op !== undefined) return { kind: 'op', text: op, at };
  throw invalid(`unexpected character ${JSON.stringify(c)} at position ${at}`);
}

function sticky(re: RegExp, input: string, at: number): string | null {
  re.lastIndex = at;
  return re.exec(input)?.[0] ?? null;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'" };

/** Go-style strings: "…" and '…' with escapes, `…` raw. */
function stringToken(input: string, start: number): Token {
  const quote = input[start]!;
  let value = '';
  let at = start + 1;
  while (at < input.length && input[at] !== quote) {
    const c = input[at]!;
    if (c === '\\' && quote !== '`') {
      const escaped = ESCAPES[input[at + 1] ?? ''];
      if (escaped === undefined) throw invalid(`unsupported escape in string at position ${at}`);
      value += escaped;
      at += 2;
      continue;
    }
    value += c;
    at++;
  }
  if (at >= input.length) throw invalid(`unterminated string at position ${start}`);
  return { kind: 'string', text: input.slice(start, at + 1), value, at: start };
}
