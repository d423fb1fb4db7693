// Decode and validate one telemetry message. Pure and synchronous: it runs on
// the main thread for every PUBLISH, so it allocates little and never throws.

import type { ErrorCode } from '../gateway/errors.js';
import type { Rejection } from '../storage/port.js';
import {
  type IngestMessage,
  NAME_PATTERN,
  type ParsedMessage,
  type Reading,
  type ValidationLimits,
} from './telemetry.js';

const TOPIC_PREFIX = 'devices/';
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
// A bare number as mosquitto_pub sends it: no hex, no "Infinity", no spaces inside.
const BARE_NUMBER = /^\s*-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;
const REJECTIONS_KEPT = 100;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface TopicRoute {
  deviceId: string;
  /** set for devices/{id}/telemetry/{metric} */
  metric?: string;
}

/** True for topics the pipeline owns; everything else is plain MQTT routing. */
export function isTelemetryTopic(topic: string): boolean {
  return topic.startsWith(TOPIC_PREFIX);
}

export function routeTopic(topic: string): TopicRoute | ErrorCode {
  const parts = topic.split('/');
  if (parts.length < 3 || parts.length > 4 || parts[0] !== 'devices' || parts[2] !== 'telemetry') {
    return 'GW_ERR_TOPIC_INVALID';
  }
  const deviceId = parts[1] ?? '';
  if (!NAME_PATTERN.test(deviceId)) return 'GW_ERR_DEVICE_ID_INVALID';
  if (parts.length === 3) return { deviceId };
  const metric = parts[3] ?? '';
  if (!NAME_PATTERN.test(metric)) return 'GW_ERR_METRIC_NAME_INVALID';
  return { deviceId, metric };
}

export function parseTelemetry(message: IngestMessage, limits: ValidationLimits): ParsedMessage {
  const route = routeTopic(message.topic);
  if (typeof route === 'string') {
    const deviceId = message.topic.split('/')[1] ?? '';
    return refuse(message, NAME_PATTERN.test(deviceId) ? deviceId : null, route);
  }
  const { deviceId } = route;
  const bytes = message.payload.byteLength;
  if (bytes === 0) return refuse(message, deviceId, 'GW_ERR_PAYLOAD_EMPTY');
  if (bytes > limits.maxPayloadBytes) return refuse(message, deviceId, 'GW_ERR_PAYLOAD_TOO_LARGE');

  let text: string;
  try {
    text = utf8.decode(message.payload);
  } catch {
    return refuse(message, deviceId, 'GW_ERR_PAYLOAD_NOT_UTF8');
  }

  if (route.metric !== undefined) return parseBareNumber(message, deviceId, route.metric, text);

  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return refuse(message, deviceId, 'GW_ERR_PAYLOAD_NOT_JSON');
  }
  const entries = Array.isArray(body) ? body : [body];
  if (!Array.isArray(body) && (body === null || typeof body !== 'object')) {
    return refuse(message, deviceId, 'GW_ERR_PAYLOAD_SHAPE');
  }
  if (entries.length === 0) return refuse(message, deviceId, 'GW_ERR_PAYLOAD_EMPTY');
  if (entries.length > limits.maxReadingsPerMessage) {
    return refuse(message, deviceId, 'GW_ERR_TOO_MANY_READINGS');
  }

  const out: ParsedMessage = { message, deviceId, readings: [], rejections: [], rejectedCount: 0 };
  const seen = new Set<string>();
  const reject = (r: Rejection) => {
    out.rejectedCount++;
    if (out.rejections.length < REJECTIONS_KEPT) out.rejections.push(r);
  };
  for (let index = 0; index < entries.length; index++) {
    parseEntry(entries[index], index, message.receivedAt, limits, out.readings, reject, seen);
    if (out.readings.length > limits.maxReadingsPerMessage) {
      return refuse(message, deviceId, 'GW_ERR_TOO_MANY_READINGS');
    }
  }
  return out;
}

function parseEntry(
  entry: unknown,
  index: number,
  receivedAt: number,
  limits: ValidationLimits,
  readings: Reading[],
  reject: (r: Rejection) => void,
  seen: Set<string>,
): void {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    reject({ index, code: 'GW_ERR_READING_SHAPE' });
    return;
  }
  const record = entry as Record<string, unknown>;
  const ts = parseTs(record.ts, receivedAt, limits);
  if (typeof ts === 'string') {
    reject({ index, code: ts });
    return;
  }
  let values: Record<string, unknown> = record;
  if ('values' in record) {
    const v = record.values;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      reject({ index, code: 'GW_ERR_READING_SHAPE' });
      return;
    }
    for (const key of Object.keys(record)) {
      if (key !== 'ts' && key !== 'values') reject({ index, metric: key, code: 'GW_ERR_FIELD_UNKNOWN' });
    }
    values = v as Record<string, unknown>;
  }
  let any = false;
  for (const metric of Object.keys(values)) {
    if (values === record && metric === 'ts') continue;
    any = true;
    const code = checkValue(metric, values[metric]);
    if (code !== undefined) {
      reject({ index, metric, code });
      continue;
    }
    const key = `${metric}\u0000${ts}`;
    if (seen.has(key)) {
      reject({ index, metric, code: 'GW_ERR_READING_DUPLICATE' });
      continue;
    }
    seen.add(key);
    readings.push({ metric, ts, value: values[metric] as number });
  }
  if (!any) reject({ index, code: 'GW_ERR_READING_EMPTY' });
}

function checkValue(metric: string, value: unknown): ErrorCode | undefined {
  if (!NAME_PATTERN.test(metric)) return 'GW_ERR_METRIC_NAME_INVALID';
  if (typeof value !== 'number') return 'GW_ERR_VALUE_NOT_NUMBER';
  // JSON cannot spell NaN, but 1e999 parses to Infinity.
  if (!Number.isFinite(value)) return 'GW_ERR_VALUE_NOT_FINITE';
  return undefined;
}

function parseTs(raw: unknown, receivedAt: number, limits: ValidationLimits): number | ErrorCode {
  let ts: number;
  if (raw === undefined) return receivedAt;
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) return 'GW_ERR_TS_INVALID';
    ts = Math.floor(raw);
  } else if (typeof raw === 'string' && ISO_8601.test(raw)) {
    ts = Date.parse(raw);
    if (Number.isNaN(ts)) return 'GW_ERR_TS_INVALID';
  } else {
    return 'GW_ERR_TS_INVALID';
  }
  if (ts > receivedAt + limits.maxFutureMs || ts < receivedAt - limits.maxPastMs)
    return 'GW_ERR_TS_OUT_OF_RANGE';
  return ts;
}

function parseBareNumber(
  message: IngestMessage,
  deviceId: string,
  metric: string,
  text: string,
): ParsedMessage {
  if (!BARE_NUMBER.test(text)) {
    const code = /^\s*[+-]?(nan|inf(inity)?)\s*$/i.test(text)
      ? 'GW_ERR_VALUE_NOT_FINITE'
      : 'GW_ERR_PAYLOAD_NOT_NUMBER';
    return refuse(message, deviceId, code);
  }
  const value = Number(text);
  if (!Number.isFinite(value)) return refuse(message, deviceId, 'GW_ERR_VALUE_NOT_FINITE');
  return {
    message,
    deviceId,
    readings: [{ metric, ts: message.receivedAt, value }],
    rejections: [],
    rejectedCount: 0,
  };
}

function refuse(message: IngestMessage, deviceId: string | null, code: ErrorCode): ParsedMessage {
  return {
    message,
    deviceId,
    readings: [],
    rejections: [{ index: 0, code }],
    messageError: code,
    rejectedCount: 1,
  };
}
