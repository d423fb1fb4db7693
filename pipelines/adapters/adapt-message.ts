// An adapter's outcome → the pipeline's ParsedMessage: the same checks the
// devices/ contract gets (names, finite values, the ts range, the reading
// cap, allowed metrics), so batching, dead letters and analytics cannot tell
// the two apart.

import type { ErrorCode } from '../../core/errors.js';
import { NAME_PATTERN } from '../../core/names.js';
import type { Rejection, SeriesMeta } from '../../storage/port.js';
import type { IngestMessage, ParsedMessage, ValidationLimits } from '../telemetry.js';
import type { AdapterReading, PayloadAdapter } from './adapter.js';

const REJECTIONS_KEPT = 100;

export function parseAdapted(
  message: IngestMessage,
  adapter: PayloadAdapter,
  limits: ValidationLimits,
): ParsedMessage {
  if (message.payload.byteLength > limits.maxPayloadBytes)
    return refuse(message, null, 'GW_ERR_PAYLOAD_TOO_LARGE');
  const outcome = adapter.decode(message.topic, message.payload, message.receivedAt);
  if (outcome.kind === 'ignored')
    return { message, deviceId: null, readings: [], rejections: [], rejectedCount: 0 };
  if (outcome.kind === 'refused') return refuse(message, outcome.deviceId ?? null, outcome.code);
  if (outcome.readings.length > limits.maxReadingsPerMessage)
    return refuse(message, outcome.readings[0]?.deviceId ?? null, 'GW_ERR_TOO_MANY_READINGS');

  const out: ParsedMessage = {
    message,
    deviceId: outcome.readings[0]?.deviceId ?? null,
    readings: [],
    rejections: [],
    rejectedCount: 0,
  };
  const reject = (r: Rejection) => {
    out.rejectedCount++;
    if (out.rejections.length < REJECTIONS_KEPT) out.rejections.push(r);
  };
  for (const r of outcome.rejections ?? []) reject(r);
  // Two readings of one key in a message are stored once and counted as a
  // duplicate by the store's key (no per-message set: it was a third of the cost).
  let meta: SeriesMeta[] | undefined;
  let checkedDevice = '';
  outcome.readings.forEach((r, index) => {
    const code = check(r, message, limits, r.deviceId === checkedDevice);
    if (code !== undefined) {
      reject({ index, metric: r.metric, code });
      return;
    }
    checkedDevice = r.deviceId;
    out.readings.push({ deviceId: r.deviceId, metric: r.metric, ts: Math.floor(r.ts), value: r.value });
    if (r.unit !== undefined || r.deviceClass !== undefined) {
      meta ??= [];
      meta.push(seriesMeta(r));
    }
  });
  if (meta !== undefined) out.seriesMeta = meta;
  if (out.readings.length === 0 && out.rejectedCount > 0) out.messageError = out.rejections[0]!.code;
  return out;
}

function check(
  r: AdapterReading,
  message: IngestMessage,
  limits: ValidationLimits,
  deviceChecked: boolean,
): ErrorCode | undefined {
  if (!deviceChecked && !NAME_PATTERN.test(r.deviceId)) return 'GW_ERR_ADAPTER_NAME_INVALID';
  if (!NAME_PATTERN.test(r.metric)) return 'GW_ERR_METRIC_NAME_INVALID';
  if (message.allowedMetrics?.has(r.metric) === false) return 'GW_ERR_METRIC_NOT_ALLOWED';
  if (!Number.isFinite(r.value)) return 'GW_ERR_VALUE_NOT_FINITE';
  if (!Number.isFinite(r.ts)) return 'GW_ERR_TS_INVALID';
  if (r.ts > message.receivedAt + limits.maxFutureMs || r.ts < message.receivedAt - limits.maxPastMs)
    return 'GW_ERR_TS_OUT_OF_RANGE';
  return undefined;
}

function seriesMeta(r: AdapterReading): SeriesMeta {
  return { deviceId: r.deviceId, metric: r.metric, unit: r.unit ?? null, deviceClass: r.deviceClass ?? null };
}

function refuse(message: IngestMessage, deviceId: string | null, code: ErrorCode): ParsedMessage {
  return {
    message,
    deviceId,
    readings: [],
    rejections: [{ index: 0, code }],
    rejectedCount: 1,
    messageError: code,
  };
}
