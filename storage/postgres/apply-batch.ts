// One batch, one transaction: what the ack protocol waits for. Every write is
// a single statement over arrays (unnest), so a batch of 2000 readings is a
// handful of round trips, with no parameter-count limit to chunk around.
import type pg from 'pg';
import { LAST_SEEN_RESOLUTION_MS, seenRangesByIndex } from '../device-sightings.js';
import type { WriteBatch, WriteResult } from '../port.js';
import { MINUTE_MS } from '../rollup-refresh.js';
import { applyPgRollups } from './apply-rollups.js';
import { shareMinutes } from './rollups/refresh-locks.js';

export type SeriesIdOf = (deviceId: string, metric: string) => number;

/** Caches that only committed values enter; one per writer. */
export interface WriterCaches {
  /** "device\0metric" -> series id */
  series: Map<string, number>;
  /** deviceId -> last_seen as committed */
  lastSeen: Map<string, number>;
}

export interface Applied {
  result: Omit<WriteResult, 'commitMs'>;
  /** to enter the caches once COMMIT returned */
  created: Map<string, number>;
  seen: Map<string, number>;
}

/** Runs inside the caller's transaction. */
export async function applyPgBatch(
  client: pg.ClientBase,
  batch: WriteBatch,
  caches: WriterCaches,
): Promise<Applied> {
  // Before any row lock (storage/postgres/rollups/refresh-locks.ts).
  await shareMinutes(client, minutesOf(batch.readings.ts));
  const seen = await upsertDevices(client, batch, caches.lastSeen);
  const created = await internSeries(client, seriesNeeded(batch), caches.series);
  const idOf: SeriesIdOf = (deviceId, metric) => {
    const key = `${deviceId}\0${metric}`;
    const id = caches.series.get(key) ?? created.get(key);
    if (id === undefined) throw new Error(`series ${deviceId}/${metric} was not interned`);
    return id;
  };

  if (batch.seriesMeta !== undefined && batch.seriesMeta.length > 0)
    await applySeriesMeta(client, batch, idOf);

  const { devices, metrics, deviceIndex, metricIndex, ts, value } = batch.readings;
  let inserted = 0;
  if (ts.length > 0) {
    const local = new Map<number, number>();
    const sids = new Array<number>(ts.length);
    for (let i = 0; i < ts.length; i++) {
      const d = deviceIndex[i]!;
      const m = metricIndex[i]!;
      const localKey = d * metrics.length + m;
      let sid = local.get(localKey);
      if (sid === undefined) {
        sid = idOf(devices[d]!, metrics[m]!);
        local.set(localKey, sid);
      }
      sids[i] = sid;
    }
    // Rows go in in key order: two gateways storing overlapping redeliveries
    // then take row locks in the same order and cannot deadlock. The batch
    // order breaks ties, since PostgreSQL's sort is not stable: of two
    // readings with one key in a batch, the first is stored (docs/sensors.md). Each stored
    // reading marks its (series, minute) stale in this transaction, so no
    // crash can separate the two (storage/rollup-refresh.ts); a duplicate
    // changes no minute and marks none. The marks go in in key order too.
    // A mark this statement sees present stays until COMMIT, as the minute's
    // shared lock keeps its rebuild out, so those are skipped by an anti-join.
    // No memory across batches skips them instead (SQLite's writer keeps
    // one): another gateway's refresher may delete a mark this writer
    // inserted, and a skipped insert would then lose the reading from the tiers.
    const res = await client.query<{ n: number }>(
      `WITH stored AS (
         INSERT INTO readings (ts, series_id, value)
           SELECT ts, sid, v FROM unnest($1::bigint[], $2::integer[], $3::float8[]) WITH ORDINALITY AS u(ts, sid, v, i)
           ORDER BY ts, sid, i
         ON CONFLICT (ts, series_id) DO NOTHING
         RETURNING ts, series_id
       ), marked AS (
         INSERT INTO rollups_1m_stale (bucket, series_id)
           SELECT DISTINCT bucket, series_id FROM (SELECT ts - ts % ${MINUTE_MS} AS bucket, series_id FROM stored) s
             WHERE NOT EXISTS (SELECT 1 FROM rollups_1m_stale m
               WHERE m.bucket = s.bucket AND m.series_id = s.series_id)
           ORDER BY 1, 2
         ON CONFLICT DO NOTHING
       )
       SELECT count(*)::integer AS n FROM stored`,
      [Array.from(ts), sids, Array.from(value)],
    );
    inserted = res.rows[0]?.n ?? 0;
  }

  const dls = batch.deadLetters;
  if (dls.length > 0) {
    await client.query(
      `INSERT INTO dead_letters (received_at, device_id, topic, code, rejections, rejected_count,
         accepted_count, payload, payload_bytes)
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::integer[],
         $7::integer[], $8::bytea[], $9::integer[])`,
      [
        dls.map((d) => d.receivedAt),
        dls.map((d) => d.deviceId),
        dls.map((d) => d.topic),
        dls.map((d) => d.code),
        dls.map((d) => JSON.stringify(d.rejections)),
        dls.map((d) => d.rejectedCount),
        dls.map((d) => d.acceptedCount),
        dls.map((d) => Buffer.from(d.payload.buffer, d.payload.byteOffset, d.payload.byteLength)),
        dls.map((d) => d.payloadBytes),
      ],
    );
  }

  return {
    result: {
      inserted,
      duplicates: ts.length - inserted,
      deadLetters: dls.length,
      ...(await applyPgRollups(client, batch, idOf)),
    },
    created,
    seen,
  };
}

/** The distinct minutes of `ts`, ascending. */
function minutesOf(ts: Float64Array): number[] {
  const minutes = new Set<number>();
  for (const t of ts) minutes.add(t - (t % MINUTE_MS));
  return [...minutes].sort((a, b) => a - b);
}

/**
 * One upsert per device, skipped while the committed last_seen is within a
 * minute of the batch's newest sighting (as storage/sqlite/apply-batch.ts).
 * GREATEST keeps last_seen monotonic when several gateways write.
 */
async function upsertDevices(
  client: pg.ClientBase,
  batch: WriteBatch,
  lastSeen: Map<string, number>,
): Promise<Map<string, number>> {
  const { devices } = batch.readings;
  const { first, last } = seenRangesByIndex(batch);
  const sighted = [...devices.keys()]
    .filter((d) => !Number.isNaN(last[d]!))
    .sort((a, b) => (devices[a]! < devices[b]! ? -1 : 1));
  const seen = new Map<string, number>();
  const ids: string[] = [];
  const firsts: number[] = [];
  const lasts: number[] = [];
  for (const d of sighted) {
    const deviceId = devices[d]!;
    const latest = last[d]!;
    const stored = lastSeen.get(deviceId);
    if (stored !== undefined && latest < stored + LAST_SEEN_RESOLUTION_MS) continue;
    ids.push(deviceId);
    firsts.push(first[d]!);
    lasts.push(latest);
    seen.set(deviceId, Math.max(latest, stored ?? latest));
  }
  if (ids.length > 0) {
    await client.query(
      `INSERT INTO devices (device_id, first_seen, last_seen)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])
       ON CONFLICT (device_id) DO UPDATE SET last_seen = GREATEST(devices.last_seen, excluded.last_seen)`,
      [ids, firsts, lasts],
    );
  }
  return seen;
}

/** Every (device, metric) the batch names: readings and anomalies. */
function seriesNeeded(batch: WriteBatch): Map<string, [string, string]> {
  const needed = new Map<string, [string, string]>();
  const add = (deviceId: string, metric: string) => {
    const key = `${deviceId}\0${metric}`;
    if (!needed.has(key)) needed.set(key, [deviceId, metric]);
  };
  const r = batch.readings;
  const pairs = new Set<number>();
  for (let i = 0; i < r.ts.length; i++) pairs.add(r.deviceIndex[i]! * r.metrics.length + r.metricIndex[i]!);
  for (const p of pairs) add(r.devices[Math.floor(p / r.metrics.length)]!, r.metrics[p % r.metrics.length]!);
  for (const a of batch.anomalies ?? []) add(a.deviceId, a.metric);
  for (const sm of batch.seriesMeta ?? []) add(sm.deviceId, sm.metric);
  return needed;
}

/** Units and device classes, as SQLite's apply-batch: coalesce keeps what a format did not state. */
async function applySeriesMeta(client: pg.ClientBase, batch: WriteBatch, idOf: SeriesIdOf): Promise<void> {
  const meta = batch.seriesMeta ?? [];
  await client.query(
    `UPDATE series s SET unit = coalesce(u.unit, s.unit), device_class = coalesce(u.dc, s.device_class)
       FROM unnest($1::integer[], $2::text[], $3::text[]) AS u(id, unit, dc)
      WHERE s.id = u.id AND (s.unit IS DISTINCT FROM coalesce(u.unit, s.unit)
         OR s.device_class IS DISTINCT FROM coalesce(u.dc, s.device_class))`,
    [meta.map((m) => idOf(m.deviceId, m.metric)), meta.map((m) => m.unit), meta.map((m) => m.deviceClass)],
  );
}

/**
 * Interns the series the caches do not know, in the order the batch first
 * names them, as the SQLite backend does: equal ids on both backends keep the
 * order of rows with equal ts (and so a fleet-wide `last`) identical.
 * ON CONFLICT DO NOTHING then SELECT: under READ COMMITTED the SELECT sees a
 * row another gateway's transaction committed while this one waited on it.
 * Two gateways creating the same new series in opposite orders can deadlock;
 * PostgreSQL then aborts one batch (GW_ERR_STORAGE_BUSY), whose messages are
 * not acked and come back, by then with the series existing.
 */
async function internSeries(
  client: pg.ClientBase,
  needed: Map<string, [string, string]>,
  cache: Map<string, number>,
): Promise<Map<string, number>> {
  const created = new Map<string, number>();
  const missing = [...needed].filter(([key]) => !cache.has(key));
  if (missing.length === 0) return created;
  const devices = missing.map(([, [d]]) => d);
  const metrics = missing.map(([, [, m]]) => m);
  await client.query(
    `INSERT INTO series (device_id, metric)
       SELECT d, m FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(d, m, i) ORDER BY i
     ON CONFLICT (device_id, metric) DO NOTHING`,
    [devices, metrics],
  );
  const { rows } = await client.query<{ id: number; device_id: string; metric: string }>(
    `SELECT s.id, s.device_id, s.metric FROM series s
       JOIN unnest($1::text[], $2::text[]) AS u(d, m) ON s.device_id = u.d AND s.metric = u.m`,
    [devices, metrics],
  );
  for (const row of rows) created.set(`${row.device_id}\0${row.metric}`, row.id);
  return created;
}
