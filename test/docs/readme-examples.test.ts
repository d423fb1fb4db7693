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
import { parseAdapted } from '../../pipelines/adapters/adapt-message.js';
import { ADAPTER_NAMES } from '../../pipelines/adapters/adapter.js';
import { type AdapterRegistry, createAdapterRegistry } from '../../pipelines/adapters/adapter-registry.js';
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
  /** (device, metric) pairs the doc says it is stored as: the `stored as` column of an adapter table */
  storedAs?: Array<[string, string]>;
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

/** `device` `metric` pairs of a `stored as` cell; empty for "nothing by itself". */
function pairs(cell: string): Array<[string, string]> {
  const names = [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < names.length; i += 2) out.push([names[i]!, names[i + 1]!]);
  return out;
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
    const storedAt = header.findIndex((h) => h.startsWith('stored as'));
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
        ...(storedAt < 0 ? {} : { storedAs: pairs(row[storedAt] ?? '') }),
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

/** Topics outside devices/ go to the adapter that owns them, as on a default gateway. */
function parse(example: Example, adapters: AdapterRegistry): ParsedMessage {
  const limits = defaults();
  const message = {
    topic: example.topic,
    payload: Buffer.from(example.payload),
    qos: 1 as const,
    receivedAt: Date.now(),
    settle: () => {},
  };
  const adapter = example.topic.startsWith('devices/') ? undefined : adapters.match(example.topic);
  if (adapter !== undefined) return parseAdapted(message, adapter, limits);
  return validateMessage(decodeMessage(message, limits), limits);
}

function newRegistry(): AdapterRegistry {
  return createAdapterRegistry({ names: ADAPTER_NAMES, send: () => {}, timeZone: '', influxPrecision: 'ns' });
}

/** A discovery config stores nothing by itself: it maps the state topic that comes after it. */
const isDiscoveryConfig = (e: Example) => e.topic.startsWith('homeassistant/') && e.topic.endsWith('/config');

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

  it('are accepted whole today, under the names the doc says', () => {
    // One gateway's adapters per run of the examples, in the doc's order: a discovery config maps the state after it.
    for (const examples of [fromTables, fromShell]) {
      const adapters = newRegistry();
      for (const example of examples.filter((e) => e.code === undefined)) acceptedWhole(example, adapters);
    }
  });

  function acceptedWhole(example: Example, adapters: AdapterRegistry): void {
    {
      const parsed = parse(example, adapters);
      expect({ where: example.where, payload: example.payload, codes: codes(parsed) }).toEqual({
        where: example.where,
        payload: example.payload,
        codes: [],
      });
      if (isDiscoveryConfig(example)) return;
      expect(parsed.readings.length, example.where).toBeGreaterThan(0);
      const stored = parsed.readings.map((r) => [r.deviceId ?? parsed.deviceId, r.metric]);
      for (const pair of example.storedAs ?? []) expect(stored, example.where).toContainEqual(pair);
    }
  }

  it('that are refused get the code the doc names', () => {
    for (const example of fromTables.filter((e) => e.code !== undefined)) {
      expect(codes(parse(example, newRegistry())), `${example.where}: ${example.payload}`).toContain(
        example.code,
      );
    }
  });
});
