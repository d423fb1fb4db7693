// The payload examples of README.md and docs/sensors.md, run through the real
// decode and validate stages with the receive time set to now: an example a
// user copies today must be accepted (or refused with the code the doc names).
//
// Examples come from two places:
// - tables with a `topic` column and an `example` column (accepted) or a
//   `refused example` and a `code` column; `$NAME` placeholders in them get
//   the values the doc's own sh assignment line gives them;
// - `mosquitto_pub` lines of sh code blocks, run by a real `sh` with
//   mosquitto_pub replaced by a function that prints its arguments, so the
//   shell does the quoting and the `$NOW_MS`-style substitution exactly as
//   for a user.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaults } from '../../gateway/config.js';
import { decodeMessage } from '../../pipelines/decode-telemetry.js';
import type { ParsedMessage } from '../../pipelines/telemetry.js';
import { validateMessage } from '../../pipelines/validate-telemetry.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DOCS = ['README.md', 'docs/sensors.md'] as const;
const DEVICE = 'kitchen-pi';
const METRIC = 'pressure';

interface Example {
  topic: string;
  payload: string;
  /** undefined: must be accepted whole */
  code?: string;
  where: string;
}

function read(doc: string): string {
  return readFileSync(join(ROOT, doc), 'utf8');
}

/** Logical lines of the doc's sh code blocks, continuation lines joined. */
function shLines(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/^```sh\n([\s\S]*?)^```/gm)].map((m) => m[1] ?? '');
  return blocks.flatMap((block) => block.replace(/\\\n\s*/g, ' ').split('\n'));
}

function assignments(markdown: string): string[] {
  return shLines(markdown).filter((line) => /^[A-Z_][A-Z0-9_]*=/.test(line));
}

function sh(script: string): string[] {
  return execFileSync('sh', ['-c', script], { encoding: 'utf8' }).split('\0');
}

/** The values the doc's assignment lines give to `names`, as its shell would. */
function placeholders(markdown: string, names: readonly string[]): Map<string, string> {
  if (names.length === 0) return new Map();
  const print = names.map((n) => `printf '%s\\0' "$${n}"`);
  const values = sh([...assignments(markdown), ...print].join('\n'));
  return new Map(names.map((n, i) => [n, values[i] ?? '']));
}

function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((c) => c.trim());
}

function firstCode(cell: string | undefined): string | undefined {
  return cell === undefined ? undefined : /`([^`]+)`/.exec(cell)?.[1];
}

function fillTopic(topic: string): string {
  return topic.replace('{deviceId}', DEVICE).replace('{metric}', METRIC);
}

function tableExamples(doc: string, markdown: string): Example[] {
  const found: Array<Omit<Example, 'payload'> & { raw: string }> = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]?.startsWith('|') || !lines[i + 1]?.startsWith('| -')) continue;
    const header = cells(lines[i] ?? '');
    const topicAt = header.indexOf('topic');
    const acceptedAt = header.indexOf('example');
    const refusedAt = header.indexOf('refused example');
    const codeAt = header.indexOf('code');
    if (topicAt < 0 || (acceptedAt < 0 && refusedAt < 0)) continue;
    for (let j = i + 2; lines[j]?.startsWith('|'); j++) {
      const row = cells(lines[j] ?? '');
      const topic = firstCode(row[topicAt]);
      const raw = firstCode(row[acceptedAt >= 0 ? acceptedAt : refusedAt]);
      const code = refusedAt >= 0 ? firstCode(row[codeAt]) : undefined;
      if (topic === undefined || raw === undefined) throw new Error(`${doc}:${j + 1}: no topic or example`);
      found.push({
        topic: fillTopic(topic),
        raw,
        where: `${doc}:${j + 1}`,
        ...(code === undefined ? {} : { code }),
      });
    }
  }
  const names = [
    ...new Set(found.flatMap((e) => [...e.raw.matchAll(/\$([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]!))),
  ];
  const values = placeholders(markdown, names);
  for (const [name, value] of values) {
    if (value === '') throw new Error(`${doc}: $${name} is used in a table but set by no sh line of the doc`);
  }
  return found.map(({ raw, ...e }) => ({
    ...e,
    payload: raw.replace(/\$([A-Z_][A-Z0-9_]*)/g, (_, n: string) => values.get(n) ?? ''),
  }));
}

function mosquittoExamples(doc: string, markdown: string): Example[] {
  const pubs = shLines(markdown).filter((line) => line.trimStart().startsWith('mosquitto_pub '));
  if (pubs.length === 0) return [];
  const fake = `mosquitto_pub() { printf '%s\\0' "$@"; printf '\\1\\0'; }`;
  const out = sh([fake, ...assignments(markdown), ...pubs].join('\n'));
  const calls: string[][] = [[]];
  for (const arg of out) {
    if (arg === '\x01') calls.push([]);
    else if (arg !== '') calls.at(-1)?.push(arg);
  }
  return calls
    .filter((args) => args.length > 0)
    .map((args, i) => {
      const topic = args[args.indexOf('-t') + 1];
      const payload = args[args.indexOf('-m') + 1];
      if (!args.includes('-t') || !args.includes('-m') || topic === undefined || payload === undefined)
        throw new Error(`${doc}: mosquitto_pub without -t and -m: ${pubs[i]}`);
      return { topic, payload, where: `${doc}: ${pubs[i]}` };
    });
}

function parse(example: Example): ParsedMessage {
  const limits = defaults();
  const message = {
    topic: example.topic,
    payload: Buffer.from(example.payload),
    qos: 1 as const,
    receivedAt: Date.now(),
    settle: () => {},
  };
  return validateMessage(decodeMessage(message, limits), limits);
}

function codes(parsed: ParsedMessage): string[] {
  return [
    ...(parsed.messageError === undefined ? [] : [parsed.messageError]),
    ...parsed.rejections.map((r) => r.code),
  ];
}

describe.each(DOCS)('the payload examples of %s', (doc) => {
  const markdown = read(doc);
  const fromTables = tableExamples(doc, markdown);
  const fromShell = mosquittoExamples(doc, markdown);

  it('are found (tables with a topic and an example column, mosquitto_pub lines)', () => {
    expect(fromTables.filter((e) => e.code === undefined).length).toBeGreaterThanOrEqual(4);
    expect(fromShell.length).toBeGreaterThanOrEqual(4);
  });

  it('are accepted whole today', () => {
    for (const example of [...fromTables, ...fromShell].filter((e) => e.code === undefined)) {
      const parsed = parse(example);
      expect({ where: example.where, payload: example.payload, codes: codes(parsed) }).toEqual({
        where: example.where,
        payload: example.payload,
        codes: [],
      });
      expect(parsed.readings.length, example.where).toBeGreaterThan(0);
    }
  });

  it('that are refused get the code the doc names', () => {
    for (const example of fromTables.filter((e) => e.code !== undefined)) {
      expect(codes(parse(example)), `${example.where}: ${example.payload}`).toContain(example.code);
    }
  });
});
