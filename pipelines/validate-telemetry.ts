// Stage 2, validate and normalise: decoded bodies become readings with epoch
// ms timestamps; what cannot be stored becomes rejections with their index.

import { map, type OperatorFunction } from 'rxjs';
import type { ErrorCode } from '../core/errors.js';
import { NAME_PATTERN } from '../core/names.js';
import type { Rejection } from '../storage/port.js';
import type { DecodedMessage } from './decode-telemetry.js';
import type { IngestMessage, ParsedMessage, Reading, ValidationLimits } from './telemetry.js';

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
const REJECTIONS_KEPT = 100;

export function validateMessage(decoded: DecodedMessage, limits: ValidationLimits): ParsedMessage {
  const { message, deviceId } = decoded;
  if (decoded.error !== undefined || deviceId === null)
    return refuse(decoded, decoded.error ?? 'GW_ERR_TOPIC_INVALID');
  const body = decoded.body;

  if (decoded.metric !== undefined) {
    const value = body as number;
    if (message.allowedMetrics?.has(decoded.metric) === false)
      return refuse(decoded, 'GW_ERR_METRIC_NOT_ALLOWED');
    if (!Number.isFinite(value)) return refuse(decoded, 'GW_ERR_VALUE_NOT_FINITE');
    const reading = { metric: decoded.metric, ts: message.receivedAt, value };
    return { message, deviceId, readings: [reading], rejections: [], rejectedCount: 0 };
  }

  if (!Array.isArray(body) && (body === null || typeof body !== 'object'))
    return refuse(decoded, 'GW_ERR_PAYLOAD_SHAPE');
  const entries: unknown[] = Array.isArray(body) ? body : [body];
  if (entries.length === 0) return refuse(decoded, 'GW_ERR_PAYLOAD_EMPTY');
  if (entries.length > limits.maxReadingsPerMessage) return refuse(decoded, 'GW_ERR_TOO_MANY_READINGS');

  const out: ParsedMessage = { message, deviceId, readings: [], rejections: [], rejectedCount: 0 };
  // Keys of one object cannot repeat, so only a batch needs duplicate tracking.
  const seen = entries.length > 1 ? new Set<string>() : undefined;
  const reject = (r: Rejection) => {
    out.rejectedCount++;
    if (out.rejections.length < REJECTIONS_KEPT) out.rejections.push(r);
  };
  for (let index = 0; index < entries.length; index++) {
    readEntry(entries[index], index, message, limits, out.readings, reject, seen);
    if (out.readings.length > limits.maxReadingsPerMessage)
      return refuse(decoded, 'GW_ERR_TOO_MANY_READINGS');
  }
  return out;
}

export function validateTelemetry(limits: ValidationLimits): OperatorFunction<DecodedMessage, ParsedMessage> {
  return map((decoded) => validateMessage(decoded, limits));
}

function readEntry(
  entry: unknown,
  index: number,
  message: IngestMessage,
  limits: ValidationLimits,
  readings: Reading[],
  reject: (r: Rejection) => void,
  seen: Set<string> | undefined,
): void {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    reject({ index, code: 'GW_ERR_READING_SHAPE' });
    return;
  }
  const record = entry as Record<string, unknown>;
  const ts = parseTs(record.ts, message.receivedAt, limits);
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
    const code = checkValue(metric, values[metric], message.allowedMetrics);
    if (code !== undefined) {
      reject({ index, metric, code });
      continue;
    }
    if (seen !== undefined) {
      const key = `${metric}\u0000${ts}`;
      if (seen.has(key)) {
        reject({ index, metric, code: 'GW_ERR_READING_DUPLICATE' });
        continue;
      }
      seen.add(key);
    }
    readings.push({ metric, ts, value: values[metric] as number });
  }
  if (!any) reject({ index, code: 'GW_ERR_READING_EMPTY' });
}

function checkValue(
  metric: string,
  value: unknown,
  allowed: ReadonlySet<string> | undefined,
): ErrorCode | undefined {
  if (!NAME_PATTERN.test(metric)) return 'GW_ERR_METRIC_NAME_INVALID';
  if (allowed?.has(metric) === false) return 'GW_ERR_METRIC_NOT_ALLOWED';
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

function refuse(decoded: DecodedMessage, code: ErrorCode): ParsedMessage {
  return {
    message: decoded.message,
    deviceId: decoded.deviceId,
    readings: [],
    rejections: [{ index: 0, code }],
    messageError: code,
    rejectedCount: 1,
  };
}
