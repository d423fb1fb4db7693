// Influx line protocol on influx/# and telegraf/#: one or more lines per
// payload. Device: the `device` tag, else `host`, else the topic's second
// level (influx/{device}); metric: {measurement}.{field}.

import { NAME_PATTERN, toStoredName } from '../../core/names.js';
import {
  type AdapterOutcome,
  type AdapterReading,
  type AdapterRejection,
  decodeText,
  type PayloadAdapter,
  refused,
} from './adapter.js';
import { type InfluxLine, parseInfluxLine } from './influx-line.js';

export const INFLUX_PRECISIONS = ['ns', 'us', 'ms', 's'] as const;
export type InfluxPrecision = (typeof INFLUX_PRECISIONS)[number];

// Digits below the millisecond, by precision (s has three fewer: it is multiplied).
const DIGITS_BELOW_MS: Record<InfluxPrecision, number> = { ns: 6, us: 3, ms: 0, s: -3 };
const TIMESTAMP = /^-?\d{1,19}$/;

export function createInfluxAdapter(precision: InfluxPrecision = 'ns'): PayloadAdapter {
  const toMs = (digits: string): number => {
    const cut = DIGITS_BELOW_MS[precision];
    if (cut <= 0) return Number(digits) * 10 ** -cut;
    // Dropping digits as text keeps the ms exact where Number(ns) would round (ns > 2^53).
    const negative = digits.startsWith('-');
    const abs = negative ? digits.slice(1) : digits;
    const ms = abs.length > cut ? Number(abs.slice(0, abs.length - cut)) : 0;
    return negative ? -ms : ms;
  };
  return {
    name: 'influx',
    owns: (topic) => topic.startsWith('influx/') || topic.startsWith('telegraf/'),
    decode(topic, payload, receivedAt): AdapterOutcome {
      const text = decodeText(payload);
      if (text === undefined) return refused('GW_ERR_INFLUX_LINE');
      const fallback = topic.split('/')[1];
      const readings: AdapterReading[] = [];
      const rejections: AdapterRejection[] = [];
      const lines = text.split('\n');
      let index = 0;
      for (const raw of lines) {
        const line = raw.trim();
        if (line === '' || line.startsWith('#')) continue;
        const parsed = parseInfluxLine(line);
        const code =
          parsed === undefined
            ? 'GW_ERR_INFLUX_LINE'
            : readLine(parsed, fallback, receivedAt, toMs, readings);
        if (code !== undefined) rejections.push({ index, code });
        index++;
      }
      if (readings.length === 0 && rejections.length > 0) return refused(rejections[0]!.code);
      return { kind: 'readings', readings, rejections };
    },
  };
}

function readLine(
  line: InfluxLine,
  fallback: string | undefined,
  receivedAt: number,
  toMs: (digits: string) => number,
  out: AdapterReading[],
): 'GW_ERR_INFLUX_NO_DEVICE' | 'GW_ERR_INFLUX_TIMESTAMP' | 'GW_ERR_ADAPTER_NAME_INVALID' | undefined {
  const rawDevice = line.tags.get('device') ?? line.tags.get('host') ?? fallback;
  if (rawDevice === undefined || rawDevice === '') return 'GW_ERR_INFLUX_NO_DEVICE';
  const deviceId = toStoredName(rawDevice);
  if (!NAME_PATTERN.test(deviceId)) return 'GW_ERR_ADAPTER_NAME_INVALID';
  if (line.timestamp !== undefined && !TIMESTAMP.test(line.timestamp)) return 'GW_ERR_INFLUX_TIMESTAMP';
  const ts = line.timestamp === undefined ? receivedAt : toMs(line.timestamp);
  const measurement = toStoredName(line.measurement);
  for (const [field, value] of line.fields) {
    // String fields are kept by Influx but are not readings here.
    if (typeof value === 'string') continue;
    const metric = `${measurement}.${toStoredName(field)}`;
    out.push({ deviceId, metric, ts, value: typeof value === 'boolean' ? (value ? 1 : 0) : value });
  }
  return undefined;
}
