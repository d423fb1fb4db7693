// The flat JSON reader (pipelines/flat-json.ts) against the general path
// (decode → JSON.parse → validate): whatever the reader answers must be what
// the general path answers, to the sign of a zero, and what it declines is
// left to the general path. Curated edge cases, then thousands of generated
// and mutated payloads from a fixed seed.

import { describe, expect, it } from 'vitest';
import { createFlatJsonReader } from '../../pipelines/flat-json.js';
import { parseTelemetry } from '../../pipelines/parse-telemetry.js';
import type { IngestMessage, ValidationLimits } from '../../pipelines/telemetry.js';
import { mulberry32 as random } from '../analytics/random.js';

const limits: ValidationLimits = {
  maxPayloadBytes: 1024,
  maxReadingsPerMessage: 5,
  maxFutureMs: 60_000,
  maxPastMs: 3_600_000,
};
const T = 1_764_150_000_000;
const TOPIC = 'devices/d-1/telemetry';

const msg = (payload: string | Buffer, allowedMetrics?: ReadonlySet<string>): IngestMessage => ({
  topic: TOPIC,
  payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
  qos: 1,
  receivedAt: T,
  settle: () => {},
  ...(allowedMetrics === undefined ? {} : { allowedMetrics }),
});

/** The reader's answer, checked against the general path's; true if the reader answered. */
function agrees(
  reader: ReturnType<typeof createFlatJsonReader>,
  payload: string | Buffer,
  allowed?: ReadonlySet<string>,
) {
  const general = parseTelemetry(msg(payload, allowed), limits);
  const fast = reader.read(msg(payload, allowed), 'd-1', limits);
  if (fast === undefined) return false;
  // toEqual compares numbers with Object.is: -0 and 0 differ, as they would stored.
  expect({ payload: payload.toString(), parsed: { ...fast, message: null } }).toEqual({
    payload: payload.toString(),
    parsed: { ...general, message: null },
  });
  expect(fast.rejections).toBe(general.rejections);
  return true;
}

describe('flat JSON reader', () => {
  it('reads the payloads sensors send, as the general path does', () => {
    const reader = createFlatJsonReader();
    const common = [
      '{"temperature": 21.5, "humidity": 40.2}',
      `{"ts":${T - 1000},"temperature":21.5,"humidity":40.2,"pressure":1013.25}`,
      `{ "ts" : ${T}.75 , "t" : -0.5 }`,
      '{"t":-0}',
      '{"t":0.0,"u":-0.0,"v":1e3,"w":2.5E-3,"x":12345678901234}',
      '{"y":-179.76931348623,"z":0.000001234}',
      `{"ts":${T},"values":{"m0":20,"m1":21,"m2":22}}`,
      `{ "values" : { "t" : 1.5 } , "ts" : ${T - 5} }`,
      '{"values":{"t":1}}',
      '\n\t{"a.b_c-1":7}\r\n',
    ];
    for (const p of common) expect(agrees(reader, p), p).toBe(true);
  });

  it('declines what only the general path can answer', () => {
    const reader = createFlatJsonReader();
    const declined = [
      '{}',
      `{"ts":${T}}`,
      '{"values":{"t":1},"x":1}',
      '{"x":1,"values":{"t":1}}',
      '{"values":{"ts":1}}',
      '{"values":{"values":1}}',
      '{"values":{}}',
      '{"values":1}',
      '{"values":{"t":1},"values":{"u":1}}',
      '{"values":{"t":1,"t":2}}',
      '{"t":"21.5"}',
      '{"t":true}',
      '{"t":null}',
      '{"t":{"u":1}}',
      '[{"t":1}]',
      '{"t":1,"t":2}',
      '{"ts":1,"ts":2,"t":1}',
      '{"12":1}',
      '{"t":01}',
      '{"t":.5}',
      '{"t":1.}',
      '{"t":1e400}',
      '{"t":1.0000000000000002}',
      // exact, but more digits than it converts exactly
      '{"t":100000000000000000000}',
      '{"t":1,}',
      '{"t":1} x',
      '{"t\\u0041":1}',
      '{"température":1}',
      `{"${'m'.repeat(65)}":1}`,
      '{"":1}',
      '{"a b":1}',
      '{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6}',
      `{"ts":${T + 3_600_000},"t":1}`,
      `{"ts":"${new Date(T).toISOString()}","t":1}`,
      '\ufeff{"t":1}',
    ];
    for (const p of declined) {
      expect(reader.read(msg(p), 'd-1', limits), p).toBeUndefined();
      agrees(reader, p);
    }
    // a metric the device may not send: the general path rejects that reading only
    expect(reader.read(msg('{"t":1,"u":2}', new Set(['t'])), 'd-1', limits)).toBeUndefined();
    expect(agrees(reader, '{"t":1,"u":2}', new Set(['t', 'u']))).toBe(true);
  });

  it('agrees with the general path on generated and mutated payloads', () => {
    const next = random(2026);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
    const keys = [
      't',
      'temperature',
      'h',
      'a.b',
      'x_1',
      'ts',
      'ts',
      'values',
      '7',
      'a b',
      'é',
      '',
      'T',
      'tS',
    ];
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(next() * 10)).join('');
    const numbers = [
      () => String(Math.round((next() - 0.5) * 2000) / 10),
      () => String((next() - 0.5) * 10 ** Math.floor(next() * 40 - 20)),
      () => ((next() - 0.5) * 1000).toFixed(Math.floor(next() * 18)),
      () => ((next() - 0.5) * 1000).toExponential(Math.floor(next() * 18)),
      () => `${pick(['', '-'])}${pick(['0', '1', '9'])}${digits(Math.floor(next() * 20))}`,
      () =>
        `${pick(['', '-'])}0.${digits(Math.floor(next() * 20))}${pick(['', 'e5', 'E-7', 'e+22', 'e-23', 'e22'])}`,
      () => String(T + Math.floor((next() - 0.5) * 8_000_000)),
      () => `${T}.${digits(3)}`,
      () =>
        pick([
          '-0',
          '0',
          '-0.0',
          '0e0',
          '1e308',
          '1e-308',
          '"1"',
          'true',
          'null',
          '[]',
          '{}',
          '01',
          '.1',
          '-',
          '1e',
          '--1',
        ]),
    ];
    // as sensors print them: a few decimals, a ts in range
    const tidyValues = [
      numbers[0]!,
      () => ((next() - 0.5) * 1000).toFixed(Math.floor(next() * 6)),
      () => ((next() - 0.5) * 1000).toExponential(Math.floor(next() * 8)),
    ];
    const tidyTs = [() => String(T - Math.floor(next() * 3_000_000)), () => `${T - 7}.${digits(1)}`];
    const ws = () => pick(['', '', '', ' ', '\n', '\t ', '\r\n']);
    const clean = ['t', 'temperature', 'h', 'a.b', 'x_1', 'T'];
    const payload = () => {
      // half of them in the shape sensors send (distinct metric names, a ts or none), half anything
      const tidy = next() < 0.5;
      const n = (tidy ? 1 : 0) + Math.floor(next() * 6);
      const names = tidy ? clean.slice(0, Math.min(n, 4)) : Array.from({ length: n }, () => pick(keys));
      if (tidy && next() < 0.5) names.push('ts');
      const value = (key: string) =>
        tidy ? (key === 'ts' ? pick(tidyTs) : pick(tidyValues))() : pick(numbers)();
      const member = (key: string) => `${ws()}"${key}"${ws()}:${ws()}${value(key)}${ws()}`;
      const fields = names.map(member);
      // the "values" form: the metrics nested, ts beside them (or anything, untidy)
      if (next() < 0.3) {
        const inner = tidy ? names.filter((k) => k !== 'ts') : names;
        const outer = tidy ? names.filter((k) => k === 'ts').map(member) : [member(pick(keys))];
        const nested = `${ws()}"values"${ws()}:${ws()}{${inner.map(member).join(',')}}${ws()}`;
        return `${ws()}{${(next() < 0.5 ? [nested, ...outer] : [...outer, nested]).join(',')}}${ws()}`;
      }
      return `${ws()}{${fields.join(',')}}${ws()}`;
    };
    const mutate = (text: string) => {
      const bytes = Buffer.from(text);
      const at = Math.floor(next() * bytes.length);
      bytes[at] = pick([0x22, 0x2c, 0x3a, 0x7b, 0x7d, 0x20, 0x2e, 0x2d, 0x65, 0x30, 0x39, 0x80, 0xff, 0x00]);
      return bytes;
    };
    // a fresh reader, and one whose remembered keys are full
    const readers = [createFlatJsonReader(), createFlatJsonReader()];
    for (let k = 0; k < 100; k++) readers[1]!.read(msg(`{"k${k}":1}`), 'd-1', limits);
    let answered = 0;
    let declined = 0;
    for (let i = 0; i < 30_000; i++) {
      const text = payload();
      const p = next() < 0.25 ? mutate(text) : text;
      // now and then a device whose registry entry limits its metrics
      const allowed =
        next() < 0.2 ? pick([new Set(['t', 'h']), new Set(clean), new Set<string>()]) : undefined;
      if (agrees(pick(readers), p, allowed)) answered++;
      else declined++;
    }
    // both ways are exercised, or the comparison proves little
    expect(answered).toBeGreaterThan(5_000);
    expect(declined).toBeGreaterThan(5_000);
  });

  it('leaves to the general path what it checks before a body is read, through parseTelemetry', () => {
    const reader = createFlatJsonReader();
    const both = (topic: string, payload: string) => {
      const m = (): IngestMessage => ({ ...msg(payload), topic });
      return { fast: parseTelemetry(m(), limits, reader), general: parseTelemetry(m(), limits) };
    };
    for (const [topic, payload, code] of [
      // a per-metric topic takes a bare number, whatever the payload looks like
      ['devices/d-1/telemetry/t', '{"a":1}', 'GW_ERR_PAYLOAD_NOT_NUMBER'],
      // over the size limit, however readable
      [TOPIC, `{"t":1}${' '.repeat(limits.maxPayloadBytes)}`, 'GW_ERR_PAYLOAD_TOO_LARGE'],
      [TOPIC, '', 'GW_ERR_PAYLOAD_EMPTY'],
      ['devices/d 1/telemetry', '{"t":1}', 'GW_ERR_DEVICE_ID_INVALID'],
    ] as const) {
      const { fast, general } = both(topic, payload);
      expect({ ...fast, message: null }, topic).toEqual({ ...general, message: null });
      expect(fast.messageError, topic).toBe(code);
    }
  });

  it('reads up to 32 metrics and leaves more to the general path', () => {
    const reader = createFlatJsonReader();
    const wide = { ...limits, maxReadingsPerMessage: 1000 };
    const payload = (n: number) => `{${Array.from({ length: n }, (_, i) => `"m${i}":${i}`).join(',')}}`;
    expect(reader.read(msg(payload(32)), 'd-1', wide)?.readings).toHaveLength(32);
    expect(reader.read(msg(payload(33)), 'd-1', wide)).toBeUndefined();
    expect(parseTelemetry(msg(payload(33)), wide, reader).readings).toHaveLength(33);
  });
});
