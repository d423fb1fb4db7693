// decode → validate → normalise, as one pure call: what the pipeline's first
// two operators do to a message, for callers outside a stream.

import { decodeMessage } from './decode-telemetry.js';
import type { IngestMessage, ParsedMessage, ValidationLimits } from './telemetry.js';
import { validateMessage } from './validate-telemetry.js';

export function parseTelemetry(message: IngestMessage, limits: ValidationLimits): ParsedMessage {
  return validateMessage(decodeMessage(message, limits), limits);
}
