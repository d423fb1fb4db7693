import { performance } from 'node:perf_hooks';
import type { Database } from 'better-sqlite3';
import { LAST_SEEN_RESOLUTION_MS, seenRanges } from '../device-sightings.js';
import type { WriteBatch, WriteResult } from '../port.js';
import { prepareExtrasApplier } from './apply-extras.js';
import type { SqliteForwardLog } from './forward-log.js';
import { createInsertOrder } from './insert-order.js';
import type { MinuteFolds } from './rollups/minute-folds.js';
import type { StaleMarks } from './rollups/stale-marks.js';

const CHUNK = 64;

/** device -> metric -> series id */
type SeriesIds = Map<string, Map<string, number>>;

function addSeries(to: SeriesIds, deviceId: string, metric: string, id: number): void {
  let ids = to.get(deviceId);
  if (ids === undefined) {
    ids = new Map();
    to.set(deviceId, ids);
  }
  ids.set(metric, id);
}

export type BatchApplier = (batch: WriteBatch) => WriteResult;

/**
 * Prepares the statements once and returns a function that stores one batch
 * in ONE transaction: the batch is the unit the ack protocol waits for.
 */
export function prepareBatchApplier(
  db: Database,
  marks: StaleMarks,
  onRawPruned: (before: number) => void,
  forward?: SqliteForwardLog,
  folds?: MinuteFolds,
): BatchApplier {
  const upsertDevice = db.prepare(
    `INSERT INTO devices (device_id, first_seen, last_seen) VALUES (?, ?, ?)
     ON CONFLICT (device_id) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)`,
  );
  const findSeries = db.prepare('SELECT id FROM series WHERE device_id = ? AND metric = ?').pluck();
  const insertSeries = db.prepare('INSERT INTO series (device_id, metric) VALUES (?, ?)');
  const insertReading = db.prepare('INSERT OR IGNORE INTO readings (ts, series_id, value) VALUES (?, ?, ?)');
  // CHUNK rows per statement: better-sqlite3's per-call overhead rivals the insert itself
  // (~1.3x more rows/s measured at 1000-row batches).
  const insertChunk = db.prepare(
    `INSERT OR IGNORE INTO readings (ts, series_id, value) VALUES ${Array(CHUNK).fill('(?, ?, ?)').join(', ')}`,
  );
  const params: number[] = new Array(CHUNK * 3).fill(0);
  const insertOrder = createInsertOrder();
  // each row's series id, reused from batch to batch
  let seriesScratch = new Float64Array(0);
  const insertDeadLetter = db.prepare(
    `INSERT INTO dead_letters (received_at, device_id, topic, code, rejections, rejected_count,
       accepted_count, payload, payload_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );

  const applyExtras = prepareExtrasApplier(db, onRawPruned);
  // coalesce: a format that states only one of the two leaves the other as it was.
  const updateMeta = db.prepare(
    `UPDATE series SET unit = coalesce(@unit, unit), device_class = coalesce(@dc, device_class)
      WHERE id = @id AND (unit IS NOT coalesce(@unit, unit) OR device_class IS NOT coalesce(@dc, device_class))`,
  );

  // device -> metric -> series id; only committed ids enter it. Two levels, not
  // one "device\0metric" key: a batch's rows are mostly distinct series, and
  // a key built per row was a string made and hashed per row.
  const seriesCache: SeriesIds = new Map();

  // deviceId -> last_seen as committed; only committed values enter it.
  const lastSeenCache = new Map<string, number>();

  const apply = db.transaction(
    (batch: WriteBatch, created: SeriesIds, seen: Map<string, number>): WriteResult => {
      for (const [deviceId, [first, last]] of seenRanges(batch)) {
        const stored = lastSeenCache.get(deviceId);
        if (stored !== undefined && last < stored + LAST_SEEN_RESOLUTION_MS) continue;
        upsertDevice.run(deviceId, first, last);
        seen.set(deviceId, Math.max(last, stored ?? last));
      }

      const { devices, metrics, deviceIndex, metricIndex, ts, value } = batch.readings;
      // Each of the batch's devices is looked up once; a row costs one lookup by metric.
      const known: Array<Map<string, number> | undefined | null> = new Array(devices.length).fill(null);
      const seriesOf = (i: number): number => {
        const d = deviceIndex[i]!;
        let ids = known[d];
        if (ids === null) ids = known[d] = seriesCache.get(devices[d]!);
        return (
          ids?.get(metrics[metricIndex[i]!]!) ?? internSeries(devices[d]!, metrics[metricIndex[i]!]!, created)
        );
      };
      folds?.open(ts);
      const n = ts.length;
      if (seriesScratch.length < n) seriesScratch = new Float64Array(n * 2);
      const series = seriesScratch;
      for (let r = 0; r < n; r++) series[r] = seriesOf(r);
      const order = insertOrder.order(ts, series, n);
      let inserted = 0;
      let i = 0;
      for (; i + CHUNK <= n; i += CHUNK) {
        for (let j = 0; j < CHUNK; j++) {
          const r = order === null ? i + j : order[i + j]!;
          const seriesId = series[r]!;
          params[j * 3] = ts[r]!;
          params[j * 3 + 1] = seriesId;
          params[j * 3 + 2] = value[r]!;
          // A duplicate marks its minute too: harmless, the rebuild finds the same rows.
          marks.note(seriesId, ts[r]!);
        }
        // Spread, not the array: better-sqlite3 reads an array's elements one
        // property lookup at a time, arguments directly (~11 % of the insert).
        const changes = insertChunk.run(...params).changes;
        inserted += changes;
        // All stored, or none: the folds know which. Some: the statement does not say which.
        if (folds !== undefined && changes > 0) {
          for (let j = 0; j < CHUNK; j++) {
            if (changes === CHUNK) folds.stored(params[j * 3 + 1]!, params[j * 3]!, params[j * 3 + 2]!);
            else folds.unsure(params[j * 3 + 1]!, params[j * 3]!);
          }
        }
      }
      for (; i < n; i++) {
        const r = order === null ? i : order[i]!;
        const seriesId = series[r]!;
        const changes = insertReading.run(ts[r]!, seriesId, value[r]!).changes;
        inserted += changes;
        marks.note(seriesId, ts[r]!);
        if (changes === 1) folds?.stored(seriesId, ts[r]!, value[r]!);
      }

      for (const sm of batch.seriesMeta ?? [])
        updateMeta.run({
          unit: sm.unit,
          dc: sm.deviceClass,
          id: internSeries(sm.deviceId, sm.metric, created),
        });

      // Owed upstream from the same commit that makes it acked: no gap a crash could fall into.
      forward?.append(batch.readings, Date.now());

      for (const dl of batch.deadLetters) {
        insertDeadLetter.run(
          dl.receivedAt,
          dl.deviceId,
          dl.topic,
          dl.code,
          JSON.stringify(dl.rejections),
          dl.rejectedCount,
          dl.acceptedCount,
          Buffer.from(dl.payload.buffer, dl.payload.byteOffset, dl.payload.byteLength),
          dl.payloadBytes,
        );
      }
      return {
        inserted,
        duplicates: ts.length - inserted,
        deadLetters: batch.deadLetters.length,
        commitMs: 0,
        ...applyExtras(batch, (deviceId, metric) => internSeries(deviceId, metric, created)),
      };
    },
  );

  function internSeries(deviceId: string, metric: string, created: SeriesIds): number {
    const known = seriesCache.get(deviceId)?.get(metric) ?? created.get(deviceId)?.get(metric);
    if (known !== undefined) return known;
    const found = findSeries.get(deviceId, metric) as number | undefined;
    const id = found ?? Number(insertSeries.run(deviceId, metric).lastInsertRowid);
    addSeries(created, deviceId, metric, id);
    return id;
  }

  return (batch) => {
    const created: SeriesIds = new Map();
    const seen = new Map<string, number>();
    const started = performance.now();
    let result: WriteResult;
    try {
      result = apply.immediate(batch, created, seen);
    } catch (err) {
      marks.rolledBack();
      folds?.rolledBack();
      throw err;
    }
    marks.committed();
    folds?.committed();
    const commitMs = performance.now() - started;
    // Reached only after COMMIT: ids from a rolled-back transaction never enter the cache.
    for (const [deviceId, ids] of created)
      for (const [metric, id] of ids) addSeries(seriesCache, deviceId, metric, id);
    for (const [deviceId, last] of seen) lastSeenCache.set(deviceId, last);
    return { ...result, commitMs };
  };
}
