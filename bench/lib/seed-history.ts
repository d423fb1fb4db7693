// A database with history, written the way the gateway writes it: raw
// readings through the writer thread, then the re-aggregation that builds the
// 1-minute and 1-hour tiers from them. Query benchmarks need history to read;
// a bench run alone would leave only its own two minutes.

import { emptyWriteBatch } from '../../storage/empty-batch.js';
import type { WriteBatch } from '../../storage/port.js';
import { openSqliteWriter } from '../../storage/sqlite/sqlite-writer.js';

const MINUTE = 60_000;

export async function seedHistory(opts: {
  path: string;
  devices: number;
  hours: number;
  readingsPerMinute: number;
  prefix: string;
  /**
   * Older history before those hours, `readingsPerMinute` readings per hour
   * at the hour's start: enough for hour-bucket queries over a week, at 1/60
   * of the seeding time.
   */
  olderHours?: number;
}) {
  const writer = await openSqliteWriter({ path: opts.path });
  const end = Math.floor(Date.now() / MINUTE) * MINUTE - 5 * MINUTE;
  const start = end - opts.hours * 60 * MINUTE;
  const devices = Array.from(
    { length: opts.devices },
    (_, i) => `${opts.prefix}${String(i).padStart(5, '0')}`,
  );
  let rows = 0;
  const older = start - (opts.olderHours ?? 0) * 60 * MINUTE;
  for (let bucket = older; bucket < end; bucket += bucket < start ? 60 * MINUTE : MINUTE) {
    const n = opts.readingsPerMinute * devices.length;
    const deviceIndex = new Uint32Array(n);
    const ts = new Float64Array(n);
    const value = new Float64Array(n);
    let i = 0;
    for (let d = 0; d < devices.length; d++) {
      for (let k = 0; k < opts.readingsPerMinute; k++, i++) {
        deviceIndex[i] = d;
        ts[i] = bucket + Math.floor((k * MINUTE) / opts.readingsPerMinute);
        // A diurnal temperature with a per-device offset and a little wobble.
        value[i] =
          20 + (d % 7) + 4 * Math.sin((2 * Math.PI * ts[i]!) / 86_400_000) + ((k * 7919 + d) % 13) / 20;
      }
    }
    const batch: WriteBatch = {
      ...emptyWriteBatch(),
      readings: {
        devices,
        metrics: ['temperature'],
        deviceIndex,
        metricIndex: new Uint32Array(n),
        ts,
        value,
      },
      devices: {
        deviceIndex: Uint32Array.from(devices, (_, d) => d),
        seenAt: new Float64Array(devices.length).fill(bucket),
      },
    };
    await writer.write(batch);
    rows += n;
  }
  await writer.refreshRollups();
  await writer.close();
  return { rows, from: older, to: end };
}
