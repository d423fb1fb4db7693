// decode → validate → normalise, as one pure call: what the pipeline's first
// two operators do to a message, for callers outside a stream. With a flat
// JSON reader, the common payload is read straight from its bytes
// (flat-json.ts), and anything else takes the general path.

import { decodeMessage, routeTopic } from './decode-telemetry.js';
import type { FlatJsonReader } from './flat-json.js';
import type { IngestMessage, ParsedMessage, ValidationLimits } from './telemetry.js';
import { validateMessage } from './validate-telemetry.js';

export function parseTelemetry(
  message: IngestMessage,
  limits: ValidationLimits,
  flat?: FlatJsonReader,
): ParsedMessage {
  if (flat !== undefined) {
    const route = message.route ?? routeTopic(message.topic);
    const bytes = message.payload.byteLength;
    // The general path's checks before a body is read (decode-telemetry.ts): a
    // per-metric topic, an empty or oversized payload are its to answer.
    if (
      typeof route !== 'string' &&
      route.metric === undefined &&
      bytes > 0 &&
      bytes <= limits.maxPayloadBytes
    ) {
      const parsed = flat.read(message, route.deviceId, limits);
      if (parsed !== undefined) return parsed;
    }
    message.route = route;
  }
  return validateMessage(decodeMessage(message, limits), limits);
}
