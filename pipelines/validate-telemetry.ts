// Stage 2, validate and normalise: decoded bodies become readings with epoch
// ms timestamps; what cannot be stored becomes rejections with their index.

import { map, type OperatorFunction } from 'rxjs';
import type { ErrorCode } from '../core/errors.js';
import { NAME_PATTERN } from '../core/names.js';
import type { Rejection } from '../storage/port.js';
import type { DecodedMessage } from './decode-telemetry.js';
import type { IngestMessage, ParsedMessage, ValidationLimits } from './telemetry.js';

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
  // Runs for every message, and most carry one object: no array around it,
  // no closure, and no rejection list until there is a rejection.
  const out: ParsedMessage = { message, deviceId, readings: [], rejections: NO_REJECTIONS, rejectedCount: 0 };
  if (!Array.isArray(body)) {
    readEntry(body, 0, message, limits, out, undefined);
    if (out.readings.length > limits.maxReadingsPerMessage)
      return refuse(decoded, 'GW_ERR_TOO_MANY_READINGS');
    return out;
  }
  const entries: unknown[] = body;
  if (entries.length === 0) return refuse(decoded, 'GW_ERR_PAYLOAD_EMPTY');
  if (entries.length > limits.maxReadingsPerMessage) return refuse(decoded, 'GW_ERR_TOO_MANY_READINGS');
  // Keys of one object cannot repeat, so only a batch needs duplicate tracking.
  const seen = entries.length > 1 ? new Set<string>() : undefined;
  for (let index = 0; index < entries.length; index++) {
    readEntry(entries[index], index, message, limits, out, seen);
    if (out.readings.length > limits.maxReadingsPerMessage)
      return refuse(decoded, 'GW_ERR_TOO_MANY_READINGS');
  }
  return out;
}

/** Shared by every message with none; the first rejection replaces it (reject below). Frozen: a push elsewhere would throw, not leak. */
export const NO_REJECTIONS = Object.freeze([]) as unknown as Rejection[];

function reject(out: ParsedMessage, r: Rejection): void {
  out.rejectedCount++;
  if (out.rejections === NO_REJECTIONS) out.rejections = [];
  if (out.rejections.length < REJECTIONS_KEPT) out.rejections.push(r);
}

export function validateTelemetry(limits: ValidationLimits): OperatorFunction<DecodedMessage, ParsedMessage> {
  return map((decoded) => validateMessage(decoded, limits));
}

function readEntry(
  entry: unknown,
  index: number,
  message: IngestMessage,
  limits: ValidationLimits,
  out: ParsedMessage,
  seen: Set<string> | undefined,
): void {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    reject(out, { index, code: 'GW_ERR_READING_SHAPE' });
    return;
  }
  const record = entry as Record<string, unknown>;
  const ts = parseTs(record.ts, message.receivedAt, limits);
  if (typeof ts === 'string') {
    reject(out, { index, code: ts });
    return;
  }
  let values: Record<string, unknown> = record;
  if ('values' in record) {
    const v = record.values;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      reject(out, { index, code: 'GW_ERR_READING_SHAPE' });
      return;
    }
    for (const key of Object.keys(record)) {
      if (key !== 'ts' && key !== 'values') reject(out, { index, metric: key, code: 'GW_ERR_FIELD_UNKNOWN' });
    }
    values = v as Record<string, unknown>;
  }
  let any = false;
  // for…in rather than Object.keys: no array per message. JSON.parse makes
  // plain objects whose prototype has no enumerable keys, so both see the same keys.
  for (const metric in values) {
    if (values === record && metric === 'ts') continue;
    any = true;
    const value = values[metric];
    const code = checkValue(metric, value, message.allowedMetrics);
    if (code !== undefined) {
      reject(out, { index, metric, code });
      continue;
    }
    if (seen !== undefined) {
      const key = `${metric}\u0000${ts}`;
      if (seen.has(key)) {
        reject(out, { index, metric, code: 'GW_ERR_READING_DUPLICATE' });
        continue;
      }
      seen.add(key);
    }
    out.readings.push({ metric, ts, value: value as number });
  }
  if (!any) reject(out, { index, code: 'GW_ERR_READING_EMPTY' });
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

/** A reading's ts in epoch ms: the receive time when absent, or the code it is refused with. */
export function parseTs(raw: unknown, receivedAt: number, limits: ValidationLimits): number | ErrorCode {
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
