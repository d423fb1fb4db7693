// A database with a day of history, written the way the gateway writes it:
// 1-minute rollup states (sketches included) through the writer thread,
// which builds the 1-hour tier from them. Query benchmarks need history to
// read; a bench run alone would leave only its own two minutes.

import { encodeStates, toRollupColumns } from '../../core/rollup-columns.js';
import { addReading, emptyState } from '../../core/rollup-state.js';
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
   * Older history before those hours, one state per hour: stored as a single
   * 1-minute row at the hour's start, which the writer merges into the 1-hour
   * tier as usual. Enough for hour-bucket queries over a week, at 1/60 of the
   * seeding time.
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
  const deviceOf = Uint32Array.from(devices.keys());
  const metricOf = new Uint32Array(opts.devices);
  let rows = 0;
  const older = start - (opts.olderHours ?? 0) * 60 * MINUTE;
  for (let bucket = older; bucket < end; bucket += bucket < start ? 60 * MINUTE : MINUTE) {
    const span = bucket < start ? 60 * MINUTE : MINUTE;
    const perBucket = (opts.readingsPerMinute * span) / MINUTE;
    const states = devices.map((_, d) => {
      const state = emptyState();
      for (let k = 0; k < perBucket; k++) {
        const ts = bucket + Math.floor((k * span) / perBucket);
        // A diurnal temperature with a per-device offset and a little wobble.
        const value =
          20 + (d % 7) + 4 * Math.sin((2 * Math.PI * ts) / 86_400_000) + ((k * 7919 + d) % 13) / 20;
        addReading(state, ts, value);
      }
      return state;
    });
    const columns = encodeStates(
      [...devices.keys()],
      devices.map(() => bucket),
      states,
    );
    const rollups = toRollupColumns(columns, { devices, metrics: ['temperature'], deviceOf, metricOf });
    const batch: WriteBatch = {
      ...emptyWriteBatch(),
      devices: devices.map((deviceId) => ({ deviceId, seenAt: bucket })),
      rollups,
    };
    await writer.write(batch);
    rows += devices.length;
  }
  await writer.close();
  return { rows, from: older, to: end };
}
