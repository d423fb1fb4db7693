import type { WriteBatch } from './port.js';

/**
 * devices.last_seen is kept to this resolution. Upserting every device of
 * every batch rewrote a random page of the devices table per device per
 * commit: at 5000 devices that was most of the WAL traffic and its checkpoints.
 */
export const LAST_SEEN_RESOLUTION_MS = 60_000;

/** deviceId -> [min seenAt, max seenAt] within a batch: one upsert per device, whichever backend. */
export function seenRanges(batch: WriteBatch): Map<string, [number, number]> {
  const ranges = new Map<string, [number, number]>();
  const { deviceIndex, seenAt: seenAts } = batch.devices;
  for (let i = 0; i < deviceIndex.length; i++) {
    const deviceId = batch.readings.devices[deviceIndex[i]!]!;
    const seenAt = seenAts[i]!;
    const range = ranges.get(deviceId);
    if (range === undefined) ranges.set(deviceId, [seenAt, seenAt]);
    else {
      range[0] = Math.min(range[0], seenAt);
      range[1] = Math.max(range[1], seenAt);
    }
  }
  return ranges;
}

/**
 * The same ranges by the batch's device index (into `batch.readings.devices`):
 * NaN for a device the batch did not sight. Typed arrays where the Map above
 * is two hashed lookups and a pair per device.
 */
export function seenRangesByIndex(batch: WriteBatch): { first: Float64Array; last: Float64Array } {
  const n = batch.readings.devices.length;
  const first = new Float64Array(n).fill(Number.NaN);
  const last = new Float64Array(n).fill(Number.NaN);
  const { deviceIndex, seenAt } = batch.devices;
  for (let i = 0; i < deviceIndex.length; i++) {
    const d = deviceIndex[i]!;
    const at = seenAt[i]!;
    // NaN compares false: the first sighting of a device sets both.
    if (!(first[d]! <= at)) first[d] = at;
    if (!(last[d]! >= at)) last[d] = at;
  }
  return { first, last };
}
