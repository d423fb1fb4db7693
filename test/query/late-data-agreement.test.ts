// End to end, on data that arrives late: readings 4 minutes, 30 minutes and
// 2 hours behind, sent as batches over MQTT (QoS 1: the PUBACK means stored)
// to the built gateway, beside readings of the current minute and a device
// whose only readings are late. Then what users see: `npm run query` (its own
// process and connection), GET /api/*, and the dashboard in Chromium, asked
// at once (stale minutes come from raw) and again once the background
// re-aggregation has rewritten the closed minutes. The reference is the raw
// readings, as the CLI's `readings` command prints them.
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { connectAsync } from 'mqtt';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, spawnGateway } from '../../simulators/gateway-process.js';
import { runCli, tempDir } from '../../simulators/run-cli.js';
import { HOUR_MS, MINUTE_MS, REFRESH_GRACE_MS } from '../../storage/rollup-refresh.js';
import { launchChromium, optionValues, partialMarkerPixels, watchProblems } from '../dashboard/chromium.js';
import { globToRegExp } from './fake-query-service.js';

interface Reading {
  device: string;
  metric: string;
  ts: number;
  value: number;
}

const LATENESS = { '4 min': 4 * MINUTE_MS, '30 min': 30 * MINUTE_MS, '2 h': 2 * HOUR_MS };
const AGGS = ['count', 'sum', 'min', 'max', 'avg', 'last'] as const;
/** Covers the 2-hour-late readings with room to spare; the answers' buckets are whole. */
const LOOK_BACK_MS = 3 * HOUR_MS;

/**
 * What each device sends. Values are multiples of 1/4, so every sum is exact
 * in any order: the tiers must equal raw exactly, not nearly. Each device's
 * readings sit on their own millisecond, so `last` has no ties in a glob.
 */
function planReadings(now: number): { current: Reading[]; late: Reading[] } {
  const current: Reading[] = [];
  const late: Reading[] = [];
  const devices = [
    { device: 'late-a', offset: 0, current: true, lateness: Object.values(LATENESS) },
    { device: 'late-b', offset: 1, current: true, lateness: [LATENESS['4 min'], LATENESS['30 min']] },
    { device: 'late-only', offset: 2, current: false, lateness: Object.values(LATENESS) },
  ];
  for (const d of devices) {
    if (d.current) {
      // The current minute: three readings in the last few milliseconds.
      for (let i = 0; i < 3; i++) {
        current.push({ device: d.device, metric: 'temp', ts: now - 9 + i * 3 + d.offset, value: 20 + i / 4 });
      }
    }
    for (const behind of d.lateness) {
      for (let i = 0; i < 3; i++) {
        const ts = now - behind + i * 1_000 + d.offset;
        late.push({ device: d.device, metric: 'temp', ts, value: 10 + d.offset * 5 + i * 0.75 });
      }
    }
  }
  // A metric only late-b has: the fleet's metrics are the union.
  current.push({ device: 'late-b', metric: 'hum', ts: now + 1, value: 40.5 });
  return { current, late };
}

/** Node 20 has no Map.groupBy. */
function groupBy<T, K>(items: Iterable<T>, key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group === undefined) groups.set(k, [item]);
    else group.push(item);
  }
  return groups;
}

/** One QoS 1 publish per device: the batch form `[{"ts", "values"}]`, as a device sends what it buffered. */
async function publish(gateway: GatewayProcess, readings: readonly Reading[]): Promise<void> {
  const byDevice = groupBy(readings, (r) => r.device);
  await Promise.all(
    [...byDevice].map(async ([device, rows]) => {
      const client = await connectAsync(`mqtt://127.0.0.1:${gateway.mqttPort}`, {
        clientId: `${device}-${rows.length}-${rows[0]!.ts}`,
        reconnectPeriod: 0,
      });
      try {
        const payload = rows.map((r) => ({ ts: r.ts, values: { [r.metric]: r.value } }));
        // Resolves on PUBACK, which the gateway sends once the readings are committed.
        await client.publishAsync(`devices/${device}/telemetry`, JSON.stringify(payload), { qos: 1 });
      } finally {
        await client.endAsync();
      }
    }),
  );
}

let gateway: GatewayProcess;
let db: string;
let sent: Reading[];
/** when the readings were planned: "4 minutes late" is behind this */
let t0: number;

async function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli('cli/query-cli.js', [...args, '--db', db]);
}

async function cliJson(...args: string[]): Promise<unknown> {
  const run = await cli(...args, '--format', 'json');
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as unknown;
}

async function http(path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`http://127.0.0.1:${gateway.httpPort}${path}`);
  return { status: res.status, body: (await res.json()) as unknown };
}

interface Point {
  bucketStart: number;
  values: Record<string, number | null>;
}
interface SeriesAnswer {
  tier: string;
  devices: number;
  points: Point[];
}

/** Raw readings of every device the glob matches, through the CLI: devices, then readings per device. */
async function rawReadings(glob: string, from: number, to: number): Promise<Reading[]> {
  const match = globToRegExp(glob);
  const devices = (await cliJson('devices')) as Array<{ deviceId: string }>;
  const out: Reading[] = [];
  for (const { deviceId } of devices.filter((d) => match.test(d.deviceId))) {
    const rows = (await cliJson(
      'readings',
      '--device',
      deviceId,
      '--metric',
      'temp',
      '--from',
      String(from),
      '--to',
      String(to),
      '--limit',
      '100000',
    )) as Array<{ ts: number; value: number }>;
    for (const r of rows) out.push({ device: deviceId, metric: 'temp', ...r });
  }
  return out;
}

/** The series the raw readings make: whole buckets over [from, to), each aggregate computed directly. */
function fromRaw(readings: readonly Reading[], bucketMs: number): Point[] {
  const buckets = groupBy(readings, (r) => Math.floor(r.ts / bucketMs) * bucketMs);
  return [...buckets]
    .sort(([a], [b]) => a - b)
    .map(([bucketStart, rows]) => {
      const sum = rows.reduce((s, r) => s + r.value, 0);
      const newest = rows.reduce((a, b) => (b.ts > a.ts ? b : a));
      return {
        bucketStart,
        values: {
          count: rows.length,
          sum,
          min: Math.min(...rows.map((r) => r.value)),
          max: Math.max(...rows.map((r) => r.value)),
          avg: sum / rows.length,
          last: newest.value,
        },
      };
    });
}

const CASES = [
  ['late-a', '1m'],
  ['late-a', '1h'],
  ['late-only', '1m'],
  ['late-only', '1h'],
  ['late-*', '1m'],
  ['late-*', '1h'],
] as const;
const BUCKET_MS = { '1m': MINUTE_MS, '1h': HOUR_MS } as const;

/** The same series through the CLI and HTTP, both equal to raw. */
async function expectAgreement(device: string, bucket: '1m' | '1h', to: number): Promise<SeriesAnswer> {
  const bucketMs = BUCKET_MS[bucket];
  const from = to - LOOK_BACK_MS;
  const params = { device, metric: 'temp', from: String(from), to: String(to), bucket, agg: AGGS.join(',') };
  const viaHttp = await http(`/api/series?${new URLSearchParams(params)}`);
  expect(viaHttp.status, JSON.stringify(viaHttp.body)).toBe(200);
  const viaCli = await cliJson('series', ...Object.entries(params).flatMap(([k, v]) => [`--${k}`, v]));
  expect(viaCli).toEqual(viaHttp.body);

  const answer = viaHttp.body as SeriesAnswer;
  const alignedFrom = Math.floor(from / bucketMs) * bucketMs;
  const alignedTo = Math.ceil(to / bucketMs) * bucketMs;
  const raw = await rawReadings(device, alignedFrom, alignedTo);
  const matching = sent.filter((r) => globToRegExp(device).test(r.device) && r.metric === 'temp');
  expect(answer.tier).toBe(bucket);
  expect(answer.devices).toBe(new Set(matching.map((r) => r.device)).size);
  expect(answer.points).toEqual(fromRaw(raw, bucketMs));
  // The raw side holds every reading sent, late ones included: the equality is not vacuous.
  expect(raw.length).toBe(matching.length);
  return answer;
}

/** Resolves once `check` holds, looked at on each line the gateway logs (its stats line comes every 200 ms). */
function onceLogged(out: Readable, check: () => boolean, withinMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const look = () => {
      if (!check()) return;
      clearTimeout(timer);
      out.off('data', look);
      resolve();
    };
    const timer = setTimeout(() => {
      out.off('data', look);
      reject(new Error(`not so within ${withinMs} ms`));
    }, withinMs);
    out.on('data', look);
    look();
  });
}

beforeAll(async () => {
  db = join(tempDir('gw-late-'), 'gateway.db');
  gateway = await spawnGateway(['--db', db, '--stats-interval-ms', '200']);
  t0 = Date.now();
  const { current, late } = planReadings(t0);
  // The live readings first, then the batches of buffered ones: late data arrives after newer data.
  await publish(gateway, current);
  await publish(gateway, late);
  sent = [...current, ...late];
});

afterAll(async () => {
  await gateway?.stop();
});

describe('late data: CLI, HTTP and raw agree', () => {
  // Asked right after the acks: the late minutes are mostly still marked stale
  // then (the writer looks for closed stale minutes once a second), and the
  // open minute surely is, so those answers come from raw.
  it('at once: every tier and glob equals raw, late readings and the open minute included', async () => {
    const to = Date.now();
    for (const [device, bucket] of CASES) {
      const answer = await expectAgreement(device, bucket, to);
      const current = sent.filter(
        (r) => r.ts >= t0 - 10 && r.metric === 'temp' && globToRegExp(device).test(r.device),
      );
      if (bucket === '1m' && current.length > 0) {
        // The minute in progress when the readings were sent is the answer's last bucket.
        const open = Math.floor(Math.max(...current.map((r) => r.ts)) / MINUTE_MS) * MINUTE_MS;
        expect(answer.points.at(-1)).toMatchObject({
          bucketStart: open,
          values: { count: current.filter((r) => r.ts >= open).length },
        });
      }
    }
  });

  it('latest answers for the device whose readings are all late, alike through the CLI and HTTP', async () => {
    for (const device of ['late-a', 'late-only']) {
      const newest = sent
        .filter((r) => r.device === device && r.metric === 'temp')
        .reduce((a, b) => (b.ts > a.ts ? b : a));
      const viaHttp = await http(`/api/devices/${device}/latest`);
      expect(viaHttp).toEqual({
        status: 200,
        body: { deviceId: device, readings: [{ metric: 'temp', ts: newest.ts, value: newest.value }] },
      });
      expect(await cliJson('latest', '--device', device)).toEqual(
        (viaHttp.body as { readings: unknown[] }).readings,
      );
    }
  });

  it('latest for an unknown device: HTTP 404, and the CLI prints no reading', async () => {
    expect(await http('/api/devices/nobody/latest')).toMatchObject({
      status: 404,
      body: { error: { code: 'GW_ERR_QUERY_NOT_FOUND', param: 'id' } },
    });
    // Its exit code is another change's to decide; either way no reading comes out.
    const run = await cli('latest', '--device', 'nobody', '--format', 'json');
    if (run.code === 0) expect(JSON.parse(run.stdout)).toEqual([]);
    else expect(run.stderr).toContain('GW_ERR_QUERY_NOT_FOUND');
  });

  it('the same once the closed minutes and hours are re-aggregated', async () => {
    // Nothing forced: the writer's own re-aggregation, seen through the invalidation log.
    const log = new Database(db, { readonly: true });
    try {
      const closedMinute = t0 - MINUTE_MS - REFRESH_GRACE_MS;
      const closedHour = t0 - HOUR_MS - REFRESH_GRACE_MS;
      const stale = log.prepare(
        `SELECT (SELECT count(*) FROM rollups_1m_stale WHERE bucket <= ?)
              + (SELECT count(*) FROM rollups_1h_stale WHERE bucket <= ?)`,
      );
      await onceLogged(gateway.proc.stdout!, () => stale.pluck().get(closedMinute, closedHour) === 0, 30_000);
      // The late minutes are stored rows now, no longer raw.
      const rows = log
        .prepare('SELECT count(*) FROM rollups_1m WHERE bucket <= ?')
        .pluck()
        .get(closedMinute) as number;
      expect(rows).toBeGreaterThanOrEqual(Object.keys(LATENESS).length);
    } finally {
      log.close();
    }
    const to = Date.now();
    for (const [device, bucket] of CASES) await expectAgreement(device, bucket, to);
  });
});

describe('late data: the dashboard', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("picks a device with recent data, shows the late-only device, the fleet's metrics and the partial bucket", async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const problems = watchProblems(page);
    try {
      await page.goto(`http://127.0.0.1:${gateway.httpPort}`);
      await page.waitForSelector('#chart[data-state="ready"]');
      // The newest reading of all is late-b's hum; late-only, seen as recently, has only old data.
      expect(await page.getAttribute('#chart', 'data-device')).toBe('late-b');
      expect(await optionValues(page, '#device')).toEqual(['late-a', 'late-b', 'late-only', '*']);

      await page.selectOption('#device', 'late-only');
      await page.waitForSelector('#chart[data-state="ready"][data-device="late-only"]');
      expect(await optionValues(page, '#metric')).toEqual(['temp']);
      // The last hour holds its 4- and 30-minute-late readings.
      const lastHour = sent.filter((r) => r.device === 'late-only' && r.ts > t0 - HOUR_MS).length;
      expect(await page.getAttribute('#chart', 'data-readings')).toBe(String(lastHour));

      await page.selectOption('#device', '*');
      await page.waitForSelector('#chart[data-state="ready"][data-device="*"]');
      expect(await optionValues(page, '#metric')).toEqual(['hum', 'temp']);

      // A reading now, so the hour being drawn surely has one; its bucket is the partial one.
      const now = Date.now();
      const fresh = { device: 'late-a', metric: 'temp', ts: now, value: 21 };
      await publish(gateway, [fresh]);
      sent.push(fresh);
      await page.selectOption('#device', 'late-a');
      await page.waitForSelector('#chart[data-state="ready"][data-device="late-a"][data-metric="temp"]');
      await page.selectOption('#range', '-7d|1h');
      await page.locator('#chart-info', { hasText: 'of 1h from the 1h tier' }).waitFor();
      expect(await page.getAttribute('#chart', 'data-state')).toBe('ready');
      expect(Number(await page.getAttribute('#chart', 'data-partial'))).toBe(
        Math.floor(now / HOUR_MS) * HOUR_MS,
      );
      expect(await page.getAttribute('#chart', 'data-readings')).toBe(
        String(sent.filter((r) => r.device === 'late-a' && r.metric === 'temp').length),
      );
      expect(await partialMarkerPixels(page)).toBeGreaterThan(20);
      expect(await page.textContent('#chart-info')).toContain('the last bucket is partial');
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
