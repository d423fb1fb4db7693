import type { WriteBatch } from './port.js';

/**
 * devices.last_seen is kept to this resolution. Upserting every device of
 * every batch rewrote a random page of the devices table per device per
 * commit: at 5000 devices that was most of the WAL traffic and its checkpoints.
 */
export const LAST_SEEN_RESOLUTION_MS = 60_000;

/**
 * [min seenAt, max seenAt] within a batch, by the batch's device index (into
 * `batch.readings.devices`, which names each device once): NaN for a device
 * the batch did not sight. One upsert per device, whichever backend. Typed
 * arrays, where a Map by name was two hashed lookups and a pair per device.
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
