// Stage 1, decode: topic → device (and metric), bytes → text → JSON or a
// bare number. Pure and synchronous; it never throws.

import { map, type OperatorFunction } from 'rxjs';
import type { ErrorCode } from '../core/errors.js';
import { NAME_PATTERN } from '../core/names.js';
import type { IngestMessage, TopicRoute, ValidationLimits } from './telemetry.js';

export type { TopicRoute };

const TOPIC_PREFIX = 'devices/';
const TELEMETRY = '/telemetry';
// A bare number as mosquitto_pub sends it: no hex, no "Infinity", no spaces inside.
const BARE_NUMBER = /^\s*-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface DecodedMessage {
  message: IngestMessage;
  deviceId: string | null;
  /** the parsed JSON body, or the number of a per-metric topic */
  body?: unknown;
  metric?: string;
  error?: ErrorCode;
}

/** True for topics the pipeline owns; everything else is plain MQTT routing. */
export function isTelemetryTopic(topic: string): boolean {
  return topic.startsWith(TOPIC_PREFIX);
}

export function routeTopic(topic: string): TopicRoute | ErrorCode {
  // Runs for every message: levels are found with indexOf, not split into an array.
  if (!topic.startsWith(TOPIC_PREFIX)) return 'GW_ERR_TOPIC_INVALID';
  const idEnd = topic.indexOf('/', TOPIC_PREFIX.length);
  if (idEnd < 0 || !topic.startsWith(TELEMETRY, idEnd)) return 'GW_ERR_TOPIC_INVALID';
  const kindEnd = idEnd + TELEMETRY.length;
  // devices/{id}/telemetry, or devices/{id}/telemetry/{metric} with no level after it
  const perMetric = topic.length > kindEnd;
  if (perMetric && (topic.charCodeAt(kindEnd) !== 0x2f || topic.indexOf('/', kindEnd + 1) >= 0))
    return 'GW_ERR_TOPIC_INVALID';
  const deviceId = topic.slice(TOPIC_PREFIX.length, idEnd);
  if (!NAME_PATTERN.test(deviceId)) return 'GW_ERR_DEVICE_ID_INVALID';
  if (!perMetric) return { deviceId };
  const metric = topic.slice(kindEnd + 1);
  if (!NAME_PATTERN.test(metric)) return 'GW_ERR_METRIC_NAME_INVALID';
  return { deviceId, metric };
}

export function decodeMessage(
  message: IngestMessage,
  limits: Pick<ValidationLimits, 'maxPayloadBytes'>,
): DecodedMessage {
  const route = message.route ?? routeTopic(message.topic);
  if (typeof route === 'string') {
    const deviceId = message.topic.split('/')[1] ?? '';
    return { message, deviceId: NAME_PATTERN.test(deviceId) ? deviceId : null, error: route };
  }
  const { deviceId } = route;
  const bytes = message.payload.byteLength;
  if (bytes === 0) return { message, deviceId, error: 'GW_ERR_PAYLOAD_EMPTY' };
  if (bytes > limits.maxPayloadBytes) return { message, deviceId, error: 'GW_ERR_PAYLOAD_TOO_LARGE' };

  let text: string;
  try {
    text = utf8.decode(message.payload);
  } catch {
    return { message, deviceId, error: 'GW_ERR_PAYLOAD_NOT_UTF8' };
  }

  if (route.metric !== undefined) {
    const metric = route.metric;
    if (!BARE_NUMBER.test(text)) {
      const nonFinite = /^\s*[+-]?(nan|inf(inity)?)\s*$/i.test(text);
      return {
        message,
        deviceId,
        metric,
        error: nonFinite ? 'GW_ERR_VALUE_NOT_FINITE' : 'GW_ERR_PAYLOAD_NOT_NUMBER',
      };
    }
    return { message, deviceId, metric, body: Number(text) };
  }
  try {
    return { message, deviceId, body: JSON.parse(text) };
  } catch {
    return { message, deviceId, error: 'GW_ERR_PAYLOAD_NOT_JSON' };
  }
}

export function decodeTelemetry(
  limits: Pick<ValidationLimits, 'maxPayloadBytes'>,
): OperatorFunction<IngestMessage, DecodedMessage> {
  return map((message) => decodeMessage(message, limits));
}
