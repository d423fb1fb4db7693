// npm run sim -- --format F: a fleet speaking each firmware's format lands in
// the gateway under the names docs/sensors.md gives, every acked reading stored.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, spawnGateway } from '../../simulators/gateway-process.js';
import { SIM_CLI, tempDir } from '../../simulators/run-cli.js';
import { openSqliteReader } from '../../storage/sqlite/sqlite-reader.js';
import { jsonOut, runCli } from './spawn-cli.js';

// format → the device id and metric the gateway stores device "f-00001"'s temperature under
const FORMATS: Array<[string, string, string]> = [
  ['tasmota', 'tasmota-00001', 'SIM.temperature'],
  ['zigbee2mqtt', 'zigbee2mqtt-00001', 'temperature'],
  ['homeassistant', 'homeassistant-00001', 'temperature'],
  ['sparkplug', 'sim.sparkplug-00001', 'temperature'],
  ['influx', 'influx-00001', 'sim.temperature'],
];

describe('sim --format against the gateway', () => {
  let db: string;
  let gateway: GatewayProcess;
  beforeAll(async () => {
    db = join(tempDir(), 'gw.db');
    gateway = await spawnGateway(['--db', db]);
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  it.each(FORMATS)(
    '%s: every acked message is stored under the documented device id',
    async (format, stored, metric) => {
      const result = await runCli(SIM_CLI, [
        ...[
          '--url',
          `mqtt://127.0.0.1:${gateway.mqttPort}`,
          '--devices',
          '3',
          '--rate',
          '5',
          '--duration',
          '2',
        ],
        ...[
          '--format',
          format,
          '--id-prefix',
          `${format}-`,
          '--dropouts',
          '0',
          '--spikes',
          '0',
          '--json',
          '--quiet',
        ],
      ]);
      const s = jsonOut(result);
      expect(result.code, result.stderr).toBe(0);
      expect(s.messages.unacked).toBe(0);
      expect(s.messages.acked).toBeGreaterThan(0);
      const reader = openSqliteReader({ path: db });
      try {
        const rows = await reader.readings({ deviceId: stored, metric, limit: 10_000 });
        expect(rows.length).toBeGreaterThan(0);
        const letters = (await reader.deadLetters({ limit: 1000 })).filter((l) => l.topic.includes(format));
        expect(letters).toEqual([]);
      } finally {
        await reader.close();
      }
    },
  );
});
