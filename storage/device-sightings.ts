import type { WriteBatch } from './port.js';

/** deviceId -> [min seenAt, max seenAt] within a batch: one upsert per device, whichever backend. */
export function seenRanges(batch: WriteBatch): Map<string, [number, number]> {
  const ranges = new Map<string, [number, number]>();
  for (const { deviceId, seenAt } of batch.devices) {
    const range = ranges.get(deviceId);
    if (range === undefined) ranges.set(deviceId, [seenAt, seenAt]);
    else {
      range[0] = Math.min(range[0], seenAt);
      range[1] = Math.max(range[1], seenAt);
    }
  }
  return ranges;
}
