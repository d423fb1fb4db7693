// End to end against our own gateway: a PUBACK means committed, so every
// acknowledged reading must be in the database, exactly once.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGatewayProcess } from '../../simulators/gateway-process.js';
import { DEMO_CLI, GATEWAY_MAIN, SIM_CLI } from '../../simulators/run-cli.js';
import { openSqliteReader } from '../../storage/sqlite/sqlite-reader.js';
import { jsonOut, runCli } from './spawn-cli.js';

describe('sim CLI against the gateway', () => {
  let dir: string;
  let gateway: GatewayProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sim-gw-'));
    gateway = await startGatewayProcess({
      db: join(dir, 'gw.db'),
      mqttPort: 0,
      logPath: join(dir, 'gateway.log'),
      // Tests import the TypeScript sources; the gateway itself runs from the build.
      script: GATEWAY_MAIN,
    });
  });

  afterAll(async () => {
    await gateway?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores every acknowledged reading of 300 devices at QoS 1, replays included', async () => {
    const result = await runCli(SIM_CLI, [
      ...[
        '--url',
        `mqtt://127.0.0.1:${gateway.mqttPort}`,
        '--devices',
        '300',
        '--rate',
        '2',
        '--duration',
        '3',
      ],
      ...['--qos', '1', '--dropouts', '1200', '--dropout-max', '1', '--spikes', '60', '--json', '--quiet'],
    ]);
    const s = jsonOut(result);
    expect(result.code, result.stderr).toBe(0);
    expect(s.messages.unacked).toBe(0);
    expect(s.messages.replayed).toBeGreaterThan(0);

    // Stop first so that the counts below cannot race a late commit.
    expect(await gateway.stop()).toBe(0);
    const reader = openSqliteReader({ path: join(dir, 'gw.db') });
    try {
      expect(await reader.countReadings()).toBe(s.readings.acked);
      expect((await reader.devices()).length).toBe(300);
      const summary = await reader.metricSummary();
      expect(summary.map((m) => m.metric).sort()).toEqual(['humidity', 'pressure', 'temperature']);
      // Ground truth: every injected spike was stored with the value reported.
      for (const a of s.anomalies.list.slice(0, 20)) {
        const rows = await reader.readings({
          deviceId: a.deviceId,
          metric: a.metric,
          from: a.ts,
          to: a.ts + 1,
        });
        expect(rows).toEqual([{ ts: a.ts, value: a.value }]);
      }
    } finally {
      await reader.close();
    }
  });
});

describe('demo CLI', () => {
  it('starts the gateway, simulates, shows what was stored and stops the gateway when not on a terminal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'demo-'));
    try {
      const db = join(dir, 'demo.db');
      const result = await runCli(DEMO_CLI, ['--devices', '200', '--duration', '3', '--db', db]);
      expect(result.code, result.stderr).toBe(0);
      const out = result.stdout;
      // A device whose first sample falls in a dropout may not have sent anything yet.
      const devices = Number(/devices +(\d+)\n/.exec(out)?.[1]);
      expect(devices).toBeGreaterThan(190);
      expect(devices).toBeLessThanOrEqual(200);
      expect(out).toMatch(/temperature +[\d,]+ +[\d.]+ +[\d.]+ +[\d.]+/);
      expect(out).toMatch(/npm run query -- readings --device sim-\d{5} --metric temperature --from -5m/);
      expect(out).toMatch(/mosquitto_pub -h 127\.0\.0\.1 -p \d+ -q 1 -t devices\/my-sensor\/telemetry/);
      expect(out).toContain(`npm start -- --db ${db}`);
      expect(out).toContain('0 unacknowledged');
      const reader = openSqliteReader({ path: db });
      try {
        expect(await reader.countReadings()).toBeGreaterThan(0);
      } finally {
        await reader.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
