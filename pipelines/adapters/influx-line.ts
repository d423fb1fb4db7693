// A parser for InfluxDB line protocol
// (https://docs.influxdata.com/influxdb/v2/reference/syntax/line-protocol/):
//   measurement[,tag=value…] field=value[,field=value…] [timestamp]
// Backslash escapes commas, spaces and equals signs in names; string fields
// are double-quoted with \" and \\ inside.

export type FieldValue = number | boolean | string;

export interface InfluxLine {
  measurement: string;
  tags: Map<string, string>;
  fields: Array<[string, FieldValue]>;
  /** the timestamp's digits as written, if any */
  timestamp?: string;
}

const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+[iu]$/;
const TRUE = new Set(['t', 'T', 'true', 'True', 'TRUE']);
const FALSE = new Set(['f', 'F', 'false', 'False', 'FALSE']);

/** undefined for a line that does not parse. */
export function parseInfluxLine(line: string): InfluxLine | undefined {
  const cursor = { at: 0 };
  const measurement = readName(line, cursor, ', ');
  if (measurement === '') return undefined;
  const tags = new Map<string, string>();
  while (line[cursor.at] === ',') {
    cursor.at++;
    const key = readName(line, cursor, '=');
    if (line[cursor.at++] !== '=' || key === '') return undefined;
    const value = readName(line, cursor, ', ');
    if (value === '') return undefined;
    tags.set(key, value);
  }
  if (line[cursor.at++] !== ' ') return undefined;
  const fields = readFields(line, cursor);
  if (fields === undefined) return undefined;
  const rest = line.slice(cursor.at).trim();
  if (rest === '') return { measurement, tags, fields };
  return { measurement, tags, fields, timestamp: rest };
}

function readFields(line: string, cursor: { at: number }): Array<[string, FieldValue]> | undefined {
  const fields: Array<[string, FieldValue]> = [];
  for (;;) {
    const key = readName(line, cursor, '=');
    if (line[cursor.at++] !== '=' || key === '') return undefined;
    const value = readFieldValue(line, cursor);
    if (value === undefined) return undefined;
    fields.push([key, value]);
    const next = line[cursor.at];
    if (next === ',') {
      cursor.at++;
      continue;
    }
    if (next === undefined || next === ' ') return fields;
    return undefined;
  }
}

/** Reads up to the first unescaped stop character; `\x` keeps x. */
function readName(line: string, cursor: { at: number }, stops: string): string {
  // Names without a backslash (nearly all) are one slice, not a string built a character at a time.
  const start = cursor.at;
  let at = start;
  while (at < line.length && !stops.includes(line[at]!)) {
    if (line[at] === '\\') return readEscaped(line, cursor, stops);
    at++;
  }
  cursor.at = at;
  return line.slice(start, at);
}

function readEscaped(line: string, cursor: { at: number }, stops: string): string {
  let out = '';
  while (cursor.at < line.length) {
    const c = line[cursor.at]!;
    if (c === '\\' && cursor.at + 1 < line.length) {
      out += line[cursor.at + 1];
      cursor.at += 2;
      continue;
    }
    if (stops.includes(c)) break;
    out += c;
    cursor.at++;
  }
  return out;
}

function readFieldValue(line: string, cursor: { at: number }): FieldValue | undefined {
  if (line[cursor.at] === '"') return readQuoted(line, cursor);
  const start = cursor.at;
  while (cursor.at < line.length && line[cursor.at] !== ',' && line[cursor.at] !== ' ') cursor.at++;
  const raw = line.slice(start, cursor.at);
  if (FLOAT.test(raw)) return Number(raw);
  if (INTEGER.test(raw)) return Number(raw.slice(0, -1));
  if (TRUE.has(raw)) return true;
  if (FALSE.has(raw)) return false;
  return undefined;
}

function readQuoted(line: string, cursor: { at: number }): string | undefined {
  let out = '';
  cursor.at++;
  while (cursor.at < line.length) {
    const c = line[cursor.at]!;
    if (c === '\\' && (line[cursor.at + 1] === '"' || line[cursor.at + 1] === '\\')) {
      out += line[cursor.at + 1];
      cursor.at += 2;
      continue;
    }
    cursor.at++;
    if (c === '"') return out;
    out += c;
  }
  return undefined;
}
