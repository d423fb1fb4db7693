// End to end with a real client of Prometheus' HTTP API: promtool (Debian's
// prometheus package, 2.42) against the built gateway, after readings were
// published over MQTT with QoS 1 (the PUBACK means stored). Its range,
// instant, label-values and series queries must return the readings sent,
// evaluated naively here. promtool POSTs form bodies for queries and sends
// far-apart fractional start/end for labels.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELATIVE_ACCURACY } from '../../core/ddsketch.js';
import { type GatewayProcess, spawnGateway } from '../../simulators/gateway-process.js';
import { tempDir } from '../../simulators/run-cli.js';
import { parsePromQL } from '../../storage/query/promql/promql-parser.js';
import type { ReadingSpec } from '../storage/make-batch.js';
import { expectedSeries } from './promql-contract.js';

const run = promisify(execFile);
const MINUTE = 60_000;
const DEVICES = ['pi-a', 'pi-b', 'other-c'];

let gateway: GatewayProcess;
let server: string;
let sent: ReadingSpec[];
let end: number;

/** 40 minutes of readings every 10 s (one on each minute edge), values in quarters so sums are exact. */
function planReadings(now: number): ReadingSpec[] {
  const first = Math.floor(now / MINUTE) * MINUTE - 40 * MINUTE;
  const out: ReadingSpec[] = [];
  DEVICES.forEach((device, d) => {
    for (let ts = first; ts < now - 1000; ts += 10_000) {
      const value = 20 + d + ((ts / 10_000) % 7) / 4;
      out.push({ device, metric: 'temperature', ts, value });
      if (device === 'pi-a') out.push({ device, metric: 'BME280.Temperature', ts, value: value + 1 });
    }
  });
  return out;
}

async function publish(readings: ReadingSpec[]): Promise<void> {
  for (const device of DEVICES) {
    const client = await connectAsync(`mqtt://127.0.0.1:${gateway.mqttPort}`, {
      clientId: device,
      reconnectPeriod: 0,
    });
    try {
      const rows = readings.filter((r) => r.device === device);
      for (let i = 0; i < rows.length; i += 100) {
        const payload = rows.slice(i, i + 100).map((r) => ({ ts: r.ts, values: { [r.metric]: r.value } }));
        await client.publishAsync(`devices/${device}/telemetry`, JSON.stringify(payload), { qos: 1 });
      }
    } finally {
      await client.endAsync();
    }
  }
}

async function promtool(...args: string[]): Promise<unknown> {
  const { stdout } = await run('promtool', ['query', ...args.slice(0, 1), '-o', 'json', ...args.slice(1)]);
  return JSON.parse(stdout);
}

type Matrix = { metric: Record<string, string>; values: [number, string][] }[];

/** promtool's matrix against the naive evaluation of the readings sent. */
function checkRange(query: string, got: Matrix, start: number, step: number, tolerance: 'exact' | 'sketch') {
  const want = expectedSeries(sent, { plan: parsePromQL(query), start, end, step });
  expect(got.map((s) => s.metric.device ?? '').sort()).toEqual([...want.keys()].sort());
  for (const s of got) {
    const steps = want.get(s.metric.device ?? '')!;
    expect(s.values.map(([t]) => t * 1000)).toEqual([...steps.keys()]);
    s.values.forEach(([t, v], i) => {
      const exact = [...steps.values()][i]!.reduce((a, b) => a + b, 0);
      if (tolerance === 'exact') expect(Number(v), `${query} @${t}`).toBeCloseTo(exact, 9);
      else
        expect(Math.abs(Number(v) - exact), `${query} @${t}`).toBeLessThanOrEqual(
          RELATIVE_ACCURACY * Math.abs(exact),
        );
    });
  }
  expect(got.length).toBeGreaterThan(0);
}

beforeAll(async () => {
  gateway = await spawnGateway(['--db', join(tempDir('gw-promtool-'), 'gateway.db')]);
  server = `http://127.0.0.1:${gateway.httpPort}`;
  const now = Date.now();
  end = Math.floor(now / MINUTE) * MINUTE;
  sent = planReadings(now);
  await publish(sent);
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
});

describe('promtool against the gateway', () => {
  it('query range: avg_over_time of one device at a 1-minute step', async () => {
    const query = 'avg_over_time(temperature{device="pi-a"}[1m])';
    const start = end - 30 * MINUTE;
    const got = (await promtool(
      'range',
      `--start=${start / 1000}`,
      `--end=${end / 1000}`,
      '--step=1m',
      server,
      query,
    )) as Matrix;
    checkRange(query, got, start, MINUTE, 'exact');
    expect(got[0]!.values).toHaveLength(31);
  });

  it('query range: count_over_time with a regex matcher, 5-minute windows', async () => {
    const query = 'count_over_time(temperature{device=~"pi-.*"}[5m])';
    const start = end - 30 * MINUTE;
    const got = (await promtool(
      'range',
      `--start=${start / 1000}`,
      `--end=${end / 1000}`,
      '--step=5m',
      server,
      query,
    )) as Matrix;
    checkRange(query, got, start, 5 * MINUTE, 'exact');
    expect(got.map((s) => s.metric.device).sort()).toEqual(['pi-a', 'pi-b']);
    // 30 readings in each whole 5-minute window: (t - 5m, t] holds the one on its end edge, not its start's.
    expect(got[0]!.values[1]![1]).toBe('30');
  });

  it('query range: quantile_over_time from the sketches, within their accuracy', async () => {
    const query = 'quantile_over_time(0.5, temperature{device="pi-b"}[10m])';
    const start = end - 20 * MINUTE;
    const got = (await promtool(
      'range',
      `--start=${start / 1000}`,
      `--end=${end / 1000}`,
      '--step=10m',
      server,
      query,
    )) as Matrix;
    checkRange(query, got, start, 10 * MINUTE, 'sketch');
  });

  it('query range off the minute grid: 15 s steps, answered from raw', async () => {
    const query = 'sum by (device) (max_over_time(temperature[45s]))';
    const start = end - 5 * MINUTE + 7_000;
    const got = (await promtool(
      'range',
      `--start=${start / 1000}`,
      `--end=${end / 1000}`,
      '--step=15s',
      server,
      query,
    )) as Matrix;
    checkRange(query, got, start, 15_000, 'exact');
  });

  it('query instant: a fleet aggregate and a plain selector with the 5-minute lookback', async () => {
    const t = end - 3 * MINUTE;
    const avg = (await promtool(
      'instant',
      `--time=${t / 1000}`,
      server,
      'avg(avg_over_time(temperature[10m]))',
    )) as {
      value: [number, string];
    }[];
    const perDevice = [
      ...expectedSeries(sent, {
        plan: parsePromQL('avg_over_time(temperature[10m])'),
        start: t,
        end: t,
        step: 0,
      }).values(),
    ];
    const want = perDevice.reduce((a, s) => a + s.get(t)![0]!, 0) / perDevice.length;
    expect(avg).toHaveLength(1);
    expect(avg[0]!.value[0]).toBe(t / 1000);
    expect(Number(avg[0]!.value[1])).toBeCloseTo(want, 9);

    const plain = (await promtool(
      'instant',
      `--time=${(t + 5_500) / 1000}`,
      server,
      'temperature{device="other-c"}',
    )) as {
      metric: Record<string, string>;
      value: [number, string];
    }[];
    const newest = sent
      .filter((r) => r.device === 'other-c' && r.metric === 'temperature' && r.ts <= t + 5_500)
      .at(-1)!;
    expect(plain).toEqual([
      {
        metric: { __name__: 'temperature', device: 'other-c' },
        value: [(t + 5_500) / 1000, String(newest.value)],
      },
    ]);
  });

  it('query labels and query series: the devices and series stored', async () => {
    expect(await promtool('labels', server, 'device')).toEqual(['other-c', 'pi-a', 'pi-b']);
    expect(await promtool('labels', server, '__name__')).toEqual(['BME280.Temperature', 'temperature']);
    expect(await promtool('labels', '--match=temperature{device=~"pi.*"}', server, 'device')).toEqual([
      'pi-a',
      'pi-b',
    ]);
    expect(await promtool('series', '--match={__name__="BME280.Temperature"}', server)).toEqual([
      { __name__: 'BME280.Temperature', device: 'pi-a' },
    ]);
  });

  it("answers Prometheus 3's quoted names, buildinfo, and refuses unsupported PromQL as bad_data", async () => {
    const body = new URLSearchParams({
      query: '{"BME280.Temperature", device="pi-a"}',
      time: String(end / 1000),
    });
    const quoted = (await (await fetch(`${server}/api/v1/query`, { method: 'POST', body })).json()) as {
      data: { result: { value: [number, string] }[] };
    };
    const newest = sent.filter((r) => r.metric === 'BME280.Temperature' && r.ts <= end).at(-1)!;
    expect(quoted.data.result[0]!.value).toEqual([end / 1000, String(newest.value)]);

    const info = (await (await fetch(`${server}/api/v1/status/buildinfo`)).json()) as {
      status: string;
      data: { version: string };
    };
    expect(info.status).toBe('success');
    expect(info.data.version).toMatch(/^2\.\d+\.\d+$/);

    const refused = await fetch(
      `${server}/api/v1/query?query=${encodeURIComponent('rate(temperature[5m])')}`,
    );
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      status: 'error',
      errorType: 'bad_data',
      error: expect.stringContaining('rate'),
    });
    await expect(run('promtool', ['query', 'instant', server, 'temperature + 1'])).rejects.toMatchObject({
      stderr: expect.stringContaining('bad_data'),
    });
  });
});
