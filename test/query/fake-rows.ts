// The fake query service's row reads: one series' readings, dead letters and
// export pages, by the same rules as the backends (keyset on (ts, series id)).
import type { DeadLetterRow, ReadingRow, ReadingsQuery } from '../../storage/port.js';
import type {
  DeadLetterQuery,
  ExportCursor,
  ExportPage,
  ExportQuery,
  ExportRow,
} from '../../storage/query-port.js';
import type { FakeReading } from './fake-query-service.js';

export function readingsOf(readings: readonly FakeReading[], q: ReadingsQuery): ReadingRow[] {
  return readings
    .filter(
      (r) =>
        r.deviceId === q.deviceId &&
        r.metric === q.metric &&
        r.ts >= (q.from ?? -Infinity) &&
        r.ts < (q.to ?? Infinity),
    )
    .sort((a, b) => a.ts - b.ts)
    .slice(0, q.limit ?? readings.length)
    .map((r) => ({ ts: r.ts, value: r.value }));
}

export function deadLettersOf(rows: readonly DeadLetterRow[], q: DeadLetterQuery): DeadLetterRow[] {
  return rows
    .filter((d) => q.deviceId === undefined || d.deviceId === q.deviceId)
    .sort((a, b) => b.receivedAt - a.receivedAt || b.id - a.id)
    .slice(0, q.limit ?? rows.length);
}

export function exportPageOf(
  readings: readonly FakeReading[],
  match: (deviceId: string) => boolean,
  q: ExportQuery,
  after: ExportCursor | undefined,
  limit: number,
): ExportPage {
  // Series ids in order of first appearance, as a backend interns them.
  const ids = new Map<string, number>();
  for (const r of readings) {
    const key = `${r.deviceId}\u0000${r.metric}`;
    if (!ids.has(key)) ids.set(key, ids.size + 1);
  }
  const keyed = readings
    .map((r) => ({ r, seriesId: ids.get(`${r.deviceId}\u0000${r.metric}`)! }))
    .filter(
      ({ r, seriesId }) =>
        r.ts >= q.from &&
        r.ts < q.to &&
        match(r.deviceId) &&
        (q.metric === undefined || r.metric === q.metric) &&
        (after === undefined || r.ts > after.ts || (r.ts === after.ts && seriesId > after.seriesId)),
    )
    .sort((a, b) => a.r.ts - b.r.ts || a.seriesId - b.seriesId)
    .slice(0, limit);
  const rows: ExportRow[] = keyed.map(({ r }) => ({
    device: r.deviceId,
    metric: r.metric,
    ts: r.ts,
    value: r.value,
    unit: null,
  }));
  const last = keyed.at(-1);
  return keyed.length < limit || last === undefined
    ? { rows }
    : { rows, next: { ts: last.r.ts, seriesId: last.seriesId } };
}
