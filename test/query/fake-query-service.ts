// An in-memory QueryService for testing the front-ends (CLI, HTTP API,
// dashboard) apart from the SQLite implementation. It aggregates raw readings
// directly, so its answers are the reference the real tiers must equal.

import type { DeadLetterRow, DeviceRow } from '../../storage/port.js';
import type {
  Aggregate,
  AnomalyQuery,
  AnomalyRecord,
  LatestReading,
  MetricRow,
  QueryService,
  SeriesQuery,
  SeriesResult,
  Tier,
} from '../../storage/query-port.js';
import { deadLettersOf, exportPageOf, readingsOf } from './fake-rows.js';

export interface FakeReading {
  deviceId: string;
  metric: string;
  ts: number;
  value: number;
}

export interface FakeQueryService extends QueryService {
  /** every call, in order, for assertions on what the front-end asked */
  readonly calls: Array<{ method: string; arg?: unknown }>;
  add(...readings: FakeReading[]): void;
  addAnomaly(...anomalies: AnomalyRecord[]): void;
  addDeadLetter(...rows: DeadLetterRow[]): void;
  /** the next call of any method rejects with this error */
  failNext(err: Error): void;
  readonly closed: boolean;
}

export function createFakeQueryService(
  init: { readings?: FakeReading[]; anomalies?: AnomalyRecord[] } = {},
): FakeQueryService {
  const readings: FakeReading[] = [...(init.readings ?? [])];
  const anomalies: AnomalyRecord[] = [...(init.anomalies ?? [])];
  const deadLetters: DeadLetterRow[] = [];
  const calls: Array<{ method: string; arg?: unknown }> = [];
  let failure: Error | undefined;
  let closed = false;

  const call = async <T>(method: string, arg: unknown, answer: () => T): Promise<T> => {
    calls.push(arg === undefined ? { method } : { method, arg });
    if (failure !== undefined) {
      const err = failure;
      failure = undefined;
      throw err;
    }
    return answer();
  };

  return {
    calls,
    get closed() {
      return closed;
    },
    add: (...r) => readings.push(...r),
    addAnomaly: (...a) => anomalies.push(...a),
    addDeadLetter: (...d) => deadLetters.push(...d),
    failNext(err) {
      failure = err;
    },
    devices: () => call('devices', undefined, () => devicesOf(readings)),
    latest: (deviceId) => call('latest', deviceId, () => latestOf(readings, deviceId)),
    metrics: () => call('metrics', undefined, () => metricsOf(readings)),
    series: (query) => call('series', query, () => seriesOf(readings, query)),
    anomalies: (query) => call('anomalies', query, () => anomaliesOf(anomalies, query)),
    readings: (query) => call('readings', query, () => readingsOf(readings, query)),
    deadLetters: (query) => call('deadLetters', query, () => deadLettersOf(deadLetters, query)),
    exportPage: (query, after, limit) =>
      call('exportPage', { query, after, limit }, () => {
        const match = globToRegExp(query.device ?? '*');
        return exportPageOf(readings, (id) => match.test(id), query, after, limit);
      }),
    close: () =>
      call('close', undefined, () => {
        closed = true;
      }),
  };
}

export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\-]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  return new RegExp(`^${body}$`);
}

function devicesOf(readings: readonly FakeReading[]): DeviceRow[] {
  const seen = new Map<string, DeviceRow>();
  for (const r of readings) {
    const d = seen.get(r.deviceId);
    if (d === undefined) seen.set(r.deviceId, { deviceId: r.deviceId, firstSeen: r.ts, lastSeen: r.ts });
    else {
      d.firstSeen = Math.min(d.firstSeen, r.ts);
      d.lastSeen = Math.max(d.lastSeen, r.ts);
    }
  }
  return [...seen.values()].sort((a, b) => a.deviceId.localeCompare(b.deviceId));
}

function latestOf(readings: readonly FakeReading[], deviceId: string): LatestReading[] {
  const latest = new Map<string, LatestReading>();
  for (const r of readings) {
    if (r.deviceId !== deviceId) continue;
    const l = latest.get(r.metric);
    if (l === undefined || r.ts > l.ts) latest.set(r.metric, { metric: r.metric, ts: r.ts, value: r.value });
  }
  return [...latest.values()];
}

function metricsOf(readings: readonly FakeReading[]): MetricRow[] {
  const devices = new Map<string, Set<string>>();
  for (const r of readings) {
    const set = devices.get(r.metric) ?? new Set();
    set.add(r.deviceId);
    devices.set(r.metric, set);
  }
  return [...devices.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([metric, set]) => ({ metric, devices: set.size }));
}

/** Which tier a real backend would use: the coarsest whose period divides the bucket. */
export function tierFor(bucketMs: number): Tier {
  if (bucketMs % 3_600_000 === 0) return '1h';
  if (bucketMs % 60_000 === 0) return '1m';
  return 'raw';
}

function seriesOf(readings: readonly FakeReading[], q: SeriesQuery): SeriesResult {
  const match = globToRegExp(q.device);
  const devices = new Set<string>();
  const buckets = new Map<number, FakeReading[]>();
  for (const r of readings) {
    if (!match.test(r.deviceId) || r.metric !== q.metric) continue;
    devices.add(r.deviceId);
    if (r.ts < q.from || r.ts >= q.to) continue;
    const start = Math.floor(r.ts / q.bucketMs) * q.bucketMs;
    const bucket = buckets.get(start);
    if (bucket === undefined) buckets.set(start, [r]);
    else bucket.push(r);
  }
  const points = [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([bucketStart, rows]) => {
      const values: Partial<Record<Aggregate, number | null>> = {};
      for (const agg of q.aggs) values[agg] = aggregate(agg, rows);
      return { bucketStart, values };
    });
  return { tier: tierFor(q.bucketMs), bucketMs: q.bucketMs, devices: devices.size, points };
}

function aggregate(agg: Aggregate, rows: readonly FakeReading[]): number {
  const values = rows.map((r) => r.value);
  const sum = values.reduce((a, b) => a + b, 0);
  const mean = sum / values.length;
  switch (agg) {
    case 'count':
      return values.length;
    case 'sum':
      return sum;
    case 'min':
      return Math.min(...values);
    case 'max':
      return Math.max(...values);
    case 'avg':
      return mean;
    case 'stddev':
      return Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length);
    case 'last':
      return rows.reduce((a, b) => (b.ts >= a.ts ? b : a)).value;
    case 'p50':
      return nearestRank(values, 0.5);
    case 'p95':
      return nearestRank(values, 0.95);
    case 'p99':
      return nearestRank(values, 0.99);
  }
}

function nearestRank(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

function anomaliesOf(anomalies: readonly AnomalyRecord[], q: AnomalyQuery): AnomalyRecord[] {
  const match = q.device === undefined ? undefined : globToRegExp(q.device);
  return anomalies
    .filter((a) => a.ts >= q.from && (q.to === undefined || a.ts < q.to) && (match?.test(a.deviceId) ?? true))
    .sort((a, b) => b.ts - a.ts)
    .slice(0, q.limit ?? anomalies.length);
}
