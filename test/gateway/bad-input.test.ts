import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../core/errors.js';
import { connectLeanPublisher, type LeanPublisher } from '../../simulators/lean-publisher.js';
import { type InProcessGateway, startInProcessGateway } from '../support/in-process-gateway.js';

const now = Date.now();
const big = JSON.stringify(Array.from({ length: 1001 }, (_, i) => ({ ts: now - i, values: { t: i } })));

// [topic suffix or full topic, payload, expected first code]
const cases: Array<[string, string | Buffer, ErrorCode]> = [
  ['telemetry', 'not json at all', 'GW_ERR_PAYLOAD_NOT_JSON'],
  ['telemetry', '', 'GW_ERR_PAYLOAD_EMPTY'],
  ['telemetry', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'GW_ERR_PAYLOAD_NOT_UTF8'],
  ['telemetry', '"a string"', 'GW_ERR_PAYLOAD_SHAPE'],
  ['telemetry', 'null', 'GW_ERR_PAYLOAD_SHAPE'],
  ['telemetry', '[]', 'GW_ERR_PAYLOAD_EMPTY'],
  ['telemetry', '[1]', 'GW_ERR_READING_SHAPE'],
  ['telemetry', '{"temperature": "21.5"}', 'GW_ERR_VALUE_NOT_NUMBER'],
  ['telemetry', '{"temperature": true}', 'GW_ERR_VALUE_NOT_NUMBER'],
  ['telemetry', '{"temperature": {"c": 1}}', 'GW_ERR_VALUE_NOT_NUMBER'],
  ['telemetry', '{"temperature": 1e999}', 'GW_ERR_VALUE_NOT_FINITE'],
  ['telemetry', `{"ts": ${now}}`, 'GW_ERR_READING_EMPTY'],
  ['telemetry', `{"ts": ${now}, "values": {}}`, 'GW_ERR_READING_EMPTY'],
  ['telemetry', `{"ts": ${now}, "values": 5}`, 'GW_ERR_READING_SHAPE'],
  ['telemetry', `{"ts": ${now + 86_400_000}, "values": {"t": 1}}`, 'GW_ERR_TS_OUT_OF_RANGE'],
  ['telemetry', `{"ts": ${now - 30 * 86_400_000}, "values": {"t": 1}}`, 'GW_ERR_TS_OUT_OF_RANGE'],
  ['telemetry', `{"ts": ${Math.floor(now / 1000)}, "values": {"t": 1}}`, 'GW_ERR_TS_OUT_OF_RANGE'],
  ['telemetry', '{"ts": "yesterday", "values": {"t": 1}}', 'GW_ERR_TS_INVALID'],
  ['telemetry', '{"tem perature": 1}', 'GW_ERR_METRIC_NAME_INVALID'],
  ['telemetry', big, 'GW_ERR_TOO_MANY_READINGS'],
  ['telemetry', `{"t": ${'1'.repeat(70_000)}}`, 'GW_ERR_PAYLOAD_TOO_LARGE'],
  ['telemetry/temperature', 'NaN', 'GW_ERR_VALUE_NOT_FINITE'],
  ['telemetry/temperature', 'Infinity', 'GW_ERR_VALUE_NOT_FINITE'],
  ['telemetry/temperature', 'warm', 'GW_ERR_PAYLOAD_NOT_NUMBER'],
  ['telemetry/temperature', '0x10', 'GW_ERR_PAYLOAD_NOT_NUMBER'],
  ['telemetry/bad metric!', '1', 'GW_ERR_METRIC_NAME_INVALID'],
  ['status', '{"t": 1}', 'GW_ERR_TOPIC_INVALID'],
  ['devices/bad device!/telemetry', '{"t": 1}', 'GW_ERR_DEVICE_ID_INVALID'],
];

describe('bad input gets a clear error and harms nobody', () => {
  let gw: InProcessGateway;
  let bad: LeanPublisher;
  let other: LeanPublisher;

  beforeAll(async () => {
    gw = await startInProcessGateway();
    const port = gw.gateway.mqtt.port;
    bad = await connectLeanPublisher({ host: '127.0.0.1', port, clientId: 'bad-one' });
    other = await connectLeanPublisher({ host: '127.0.0.1', port, clientId: 'good-one' });
  });
  afterAll(async () => {
    bad.destroy();
    other.destroy();
    await gw.close();
  });

  it('acks, dead-letters and counts each bad message by code; good readings still land', async () => {
    for (const [suffix, payload] of cases) {
      const topic = suffix.startsWith('devices/') ? suffix : `devices/sensor-bad/${suffix}`;
      // Acked at QoS 1 so the device does not retry a message that can never succeed.
      await bad.publish(topic, payload, 1);
    }
    await bad.publish('devices/sensor-bad/telemetry', `{"ts": ${now}, "values": {"temperature": 20.5}}`, 1);
    await other.publish(
      'devices/sensor-good/telemetry',
      `{"ts": ${now}, "values": {"temperature": 19.5}}`,
      1,
    );

    const reader = gw.reader();
    try {
      const letters = await reader.deadLetters({ limit: 1000 });
      const codes = letters.map((l) => l.code).reverse();
      expect(codes).toEqual(cases.map(([, , code]) => code));
      const notUtf8 = letters.find((l) => l.code === 'GW_ERR_PAYLOAD_NOT_UTF8');
      expect(Buffer.from(notUtf8!.payload)).toEqual(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
      const tooLarge = letters.find((l) => l.code === 'GW_ERR_PAYLOAD_TOO_LARGE');
      expect(tooLarge!.payloadBytes).toBeGreaterThan(70_000);
      expect(tooLarge!.payload.byteLength).toBe(1024);

      expect(await reader.readings({ deviceId: 'sensor-bad', metric: 'temperature' })).toEqual([
        { ts: now, value: 20.5 },
      ]);
      expect(await reader.readings({ deviceId: 'sensor-good', metric: 'temperature' })).toEqual([
        { ts: now, value: 19.5 },
      ]);
    } finally {
      await reader.close();
    }
    const metrics = await gw.gateway.metrics.registry.getSingleMetricAsString('gateway_rejections_total');
    expect(metrics).toContain('code="GW_ERR_PAYLOAD_NOT_JSON"} 1');
    expect(metrics).toContain('code="GW_ERR_VALUE_NOT_FINITE"} 3');
  });

  it('rejects only the bad reading of a batch and says which index failed', async () => {
    const batch = [
      { ts: now - 3, values: { humidity: 40 } },
      { ts: now - 2, values: { humidity: 'wet', pressure: 1001 } },
      { ts: now - 1, values: { humidity: 42 }, unit: '%' },
      { ts: now - 1, values: { humidity: 43 } },
    ];
    await other.publish('devices/sensor-batch/telemetry', JSON.stringify(batch), 1);
    const reader = gw.reader();
    try {
      const rows = await reader.readings({ deviceId: 'sensor-batch', metric: 'humidity' });
      expect(rows).toEqual([
        { ts: now - 3, value: 40 },
        { ts: now - 1, value: 42 },
      ]);
      expect(await reader.readings({ deviceId: 'sensor-batch', metric: 'pressure' })).toEqual([
        { ts: now - 2, value: 1001 },
      ]);
      const [letter] = await reader.deadLetters({ deviceId: 'sensor-batch' });
      expect(letter!.rejections).toEqual([
        { index: 1, metric: 'humidity', code: 'GW_ERR_VALUE_NOT_NUMBER' },
        { index: 2, metric: 'unit', code: 'GW_ERR_FIELD_UNKNOWN' },
        { index: 3, metric: 'humidity', code: 'GW_ERR_READING_DUPLICATE' },
      ]);
      expect(letter!.acceptedCount).toBe(3);
      expect(letter!.rejectedCount).toBe(3);
    } finally {
      await reader.close();
    }
  });

  it('refuses $SYS publishes by closing the connection without an ack', async () => {
    const intruder = await connectLeanPublisher({
      host: '127.0.0.1',
      port: gw.gateway.mqtt.port,
      clientId: 'sys',
    });
    await expect(intruder.publish('$SYS/broker/fake', 'x', 1)).rejects.toMatchObject({ code: 'LEAN_CLOSED' });
    await other.publish(
      'devices/sensor-good/telemetry',
      `{"ts": ${now + 1}, "values": {"temperature": 19.6}}`,
      1,
    );
  });
});
