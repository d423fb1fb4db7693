// Payload-level garbage at scale: 10% bad messages of every payload-level
// kind, over a few hundred connections. Every good reading must be stored
// and every bad message dead-lettered with the code it deserves.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../core/errors.js';
import { connectLeanPublisher, type LeanPublisher } from '../../simulators/lean-publisher.js';
import { type InProcessGateway, startInProcessGateway } from '../support/in-process-gateway.js';

const CONNECTIONS = 300;
const MESSAGES = 3000;

const now = Date.now();
// [topic, payload, code, readings of it that are still good]; the device is the connection's unless the topic says otherwise
const BAD: Array<(dev: string, m: number) => [string, string | Buffer, ErrorCode, number?]> = [
  (d) => [`devices/${d}/telemetry`, 'not json', 'GW_ERR_PAYLOAD_NOT_JSON'],
  (d) => [`devices/${d}/telemetry`, '{"t": "21.5"}', 'GW_ERR_VALUE_NOT_NUMBER'],
  (d) => [`devices/${d}/telemetry`, '{"t": 1e999}', 'GW_ERR_VALUE_NOT_FINITE'],
  (d) => [`devices/${d}/telemetry/t`, 'NaN', 'GW_ERR_VALUE_NOT_FINITE'],
  (d) => [
    `devices/${d}/telemetry`,
    `{"ts": ${now + 86_400_000}, "values": {"t": 1}}`,
    'GW_ERR_TS_OUT_OF_RANGE',
  ],
  (d) => [
    `devices/${d}/telemetry`,
    `{"ts": ${now - 30 * 86_400_000}, "values": {"t": 1}}`,
    'GW_ERR_TS_OUT_OF_RANGE',
  ],
  (d) => [`devices/${d}/telemetry`, '{"ts": "soon", "values": {"t": 1}}', 'GW_ERR_TS_INVALID'],
  (d) => [`devices/${d}/telemetry`, `{"ts": ${now}}`, 'GW_ERR_READING_EMPTY'],
  // only the unknown field is refused: the reading itself is stored
  (d, m) => [
    `devices/${d}/telemetry`,
    `{"ts": ${now - 120_000 + m}, "values": {"t": 1}, "unit": "C"}`,
    'GW_ERR_FIELD_UNKNOWN',
    1,
  ],
  (d) => [`devices/${d}/telemetry`, '{"bad metric!": 1}', 'GW_ERR_METRIC_NAME_INVALID'],
  (d) => [
    `devices/${d}/telemetry`,
    JSON.stringify(Array.from({ length: 1001 }, (_, i) => ({ ts: now - i, values: { t: i } }))),
    'GW_ERR_TOO_MANY_READINGS',
  ],
  (d) => [`devices/${d}/telemetry`, Buffer.from([0x7b, 0xff, 0x7d]), 'GW_ERR_PAYLOAD_NOT_UTF8'],
  (d) => [`devices/${d}/telemetry`, '', 'GW_ERR_PAYLOAD_EMPTY'],
  () => ['devices/bad id!/telemetry', '{"t": 1}', 'GW_ERR_DEVICE_ID_INVALID'],
];

describe('payload garbage at scale', () => {
  let gw: InProcessGateway;
  let clients: LeanPublisher[];
  beforeAll(async () => {
    gw = await startInProcessGateway();
    clients = await Promise.all(
      Array.from({ length: CONNECTIONS }, (_, i) =>
        connectLeanPublisher({ host: '127.0.0.1', port: gw.gateway.mqtt.port, clientId: `garbage-${i}` }),
      ),
    );
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await gw.close();
  });

  it(`stores 100% of the good readings and dead-letters 100% of the bad with correct codes (${MESSAGES} messages, 10% bad)`, async () => {
    const sentBad = new Map<ErrorCode, number>();
    let goodReadings = 0;
    const sends: Promise<number>[] = [];
    for (let m = 0; m < MESSAGES; m++) {
      const conn = m % CONNECTIONS;
      const dev = `garbage-${conn}`;
      const client = clients[conn]!;
      if (m % 10 === 9) {
        const make = BAD[Math.floor(m / 10) % BAD.length]!;
        const [topic, payload, code, stillGood = 0] = make(dev, m);
        sentBad.set(code, (sentBad.get(code) ?? 0) + 1);
        goodReadings += stillGood;
        sends.push(client.publish(topic, payload, 1));
      } else {
        // distinct (device, metric, ts) per good reading: two metrics each
        sends.push(
          client.publish(
            `devices/${dev}/telemetry`,
            JSON.stringify({ ts: now - 60_000 + m, values: { t: m, h: 1 } }),
            1,
          ),
        );
        goodReadings += 2;
      }
    }
    await Promise.all(sends);

    const reader = gw.reader();
    try {
      expect(await reader.countReadings()).toBe(goodReadings);
      const letters = await reader.deadLetters({ limit: MESSAGES });
      const byCode = new Map<ErrorCode, number>();
      for (const l of letters) byCode.set(l.code, (byCode.get(l.code) ?? 0) + 1);
      expect(Object.fromEntries(byCode)).toEqual(Object.fromEntries(sentBad));
      expect(letters).toHaveLength(MESSAGES / 10);
    } finally {
      await reader.close();
    }
  });
});
