import { performance } from 'node:perf_hooks';
import type { Database } from 'better-sqlite3';
import { setByNumber } from '../../core/by-number.js';
import { LAST_SEEN_RESOLUTION_MS, seenRangesByIndex } from '../device-sightings.js';
import type { ReadingColumns, WriteBatch, WriteResult } from '../port.js';
import { prepareExtrasApplier } from './apply-extras.js';
import type { SqliteForwardLog } from './forward-log.js';
import { prepareReadingsInserter } from './insert-readings.js';
import type { MinuteFolds } from './rollups/minute-folds.js';
import type { StaleMarks } from './rollups/stale-marks.js';

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

interface KnownDevice {
  /** last_seen as committed; NaN until this writer stored one */
  lastSeen: number;
  /** metric -> series id */
  series: Map<string, number>;
  /** the same ids by metric number (createMetricNumbers), for the per-row lookup */
  byMetric: number[];
}

/**
 * The writer's own small numbers for metric names, so that a row finds its
 * series with two array loads instead of hashing its metric's name: a batch
 * names each metric once, a fleet has a few dozen. Past MAX_METRIC_NUMBERS
 * names (a fleet inventing them), a new name gets none and its rows take the
 * Map by name.
 */
const MAX_METRIC_NUMBERS = 256;

/** A metric's number, given on first sight; -1 past MAX_METRIC_NUMBERS. */
function createMetricNumbers(): (metric: string) => number {
  const numbers = new Map<string, number>();
  return (metric) => {
    let k = numbers.get(metric);
    if (k === undefined) {
      if (numbers.size >= MAX_METRIC_NUMBERS) return -1;
      k = numbers.size;
      numbers.set(metric, k);
    }
    return k;
  };
}

/**
 * What the writer knows of each device as committed (only committed values
 * enter it): its series ids by metric, and its last_seen. One entry, so a
 * batch looks each of its devices up once. Two levels, not one
 * "device\0metric" key: a key built per row was a string made and hashed per
 * row. The same entries by the main thread's device number, where the batch
 * carries one (ReadingColumns.deviceNumbers): found by index, not by name.
 */
function createKnownDevices() {
  const byName = new Map<string, KnownDevice>();
  const byNumber: Array<KnownDevice | undefined> = [];
  return {
    /** by number where the batch gives one and it is linked, else by name */
    find(deviceId: string, no: number): KnownDevice | undefined {
      return (no >= 0 ? byNumber[no] : undefined) ?? byName.get(deviceId);
    },
    byName(deviceId: string): KnownDevice | undefined {
      return byName.get(deviceId);
    },
    /** the device's entry, made empty on first sight; call after COMMIT only */
    entry(deviceId: string): KnownDevice {
      let entry = byName.get(deviceId);
      if (entry === undefined) {
        entry = { lastSeen: Number.NaN, series: new Map(), byMetric: [] };
        byName.set(deviceId, entry);
      }
      return entry;
    },
    /** Links a committed batch's numbered devices to their entries; after COMMIT only. */
    number({ devices, deviceNumbers }: Pick<ReadingColumns, 'devices' | 'deviceNumbers'>): void {
      if (deviceNumbers === undefined) return;
      for (let d = 0; d < devices.length; d++) {
        const no = deviceNumbers[d]!;
        if (no >= 0 && byNumber[no] === undefined) setByNumber(byNumber, no, byName.get(devices[d]!));
      }
    },
  };
}

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
  const insertReadings = prepareReadingsInserter(db, marks, folds);
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

  const knownDevices = createKnownDevices();
  const metricNumber = createMetricNumbers();
  // the batch's metric dictionary in metric numbers, reused from batch to batch
  const batchMetricNumbers: number[] = [];

  const apply = db.transaction(
    (batch: WriteBatch, created: SeriesIds, seen: Map<string, number>): WriteResult => {
      const { devices, deviceNumbers } = batch.readings;
      const known = new Array<KnownDevice | undefined>(devices.length);
      for (let d = 0; d < devices.length; d++)
        known[d] = knownDevices.find(devices[d]!, deviceNumbers === undefined ? -1 : deviceNumbers[d]!);

      const { first, last } = seenRangesByIndex(batch);
      for (let d = 0; d < devices.length; d++) {
        const latest = last[d]!;
        if (Number.isNaN(latest)) continue;
        const stored = known[d]?.lastSeen ?? Number.NaN;
        if (latest < stored + LAST_SEEN_RESOLUTION_MS) continue;
        upsertDevice.run(devices[d]!, first[d]!, latest);
        seen.set(devices[d]!, Number.isNaN(stored) ? latest : Math.max(latest, stored));
      }

      const { metrics, deviceIndex, metricIndex, ts, value } = batch.readings;
      const numbers = batchMetricNumbers;
      numbers.length = metrics.length;
      for (let k = 0; k < metrics.length; k++) numbers[k] = metricNumber(metrics[k]!);
      // A row the writer has stored before costs two array loads; a new series, a lookup by name.
      const seriesOf = (i: number): number => {
        const d = deviceIndex[i]!;
        const k = metricIndex[i]!;
        const id = known[d]?.byMetric[numbers[k]!];
        // internSeries looks the name up in the device's series first, then makes it.
        return id ?? internSeries(devices[d]!, metrics[k]!, created);
      };
      folds?.open(ts);
      const n = ts.length;
      if (seriesScratch.length < n) seriesScratch = new Float64Array(n * 2);
      const series = seriesScratch;
      for (let r = 0; r < n; r++) series[r] = seriesOf(r);
      const inserted = insertReadings(series, ts, value, n);

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
    const known = knownDevices.byName(deviceId)?.series.get(metric) ?? created.get(deviceId)?.get(metric);
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
    for (const [deviceId, ids] of created) {
      const { series, byMetric } = knownDevices.entry(deviceId);
      for (const [metric, id] of ids) {
        series.set(metric, id);
        const k = metricNumber(metric);
        if (k >= 0) byMetric[k] = id;
      }
    }
    for (const [deviceId, last] of seen) knownDevices.entry(deviceId).lastSeen = last;
    knownDevices.number(batch.readings);
    return { ...result, commitMs };
  };
}
