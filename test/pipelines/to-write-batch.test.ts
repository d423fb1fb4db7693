import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { ParsedMessage, Reading } from '../../pipelines/telemetry.js';
import { WriteBatchBuilder } from '../../pipelines/to-write-batch.js';

const parsed = (
  deviceId: string,
  receivedAt: number,
  readings: Reading[],
  rejectedCount = 0,
): ParsedMessage => ({
  message: {
    topic: `devices/${deviceId}/telemetry`,
    payload: Buffer.from('{"x":"bad"}'),
    qos: 1,
    receivedAt,
    settle: () => {},
  },
  deviceId,
  readings,
  rejections: rejectedCount > 0 ? [{ index: 0, metric: 'x', code: 'GW_ERR_VALUE_NOT_NUMBER' }] : [],
  rejectedCount,
});

const rows = (metric: string, n: number, from = 0): Reading[] =>
  Array.from({ length: n }, (_, i) => ({ metric, ts: from + i, value: i / 2 }));

describe('WriteBatchBuilder', () => {
  it('names each row by its own metric when messages list metrics in another order', () => {
    const r = (metric: string) => ({ metric, ts: 1, value: 0 });
    const builder = new WriteBatchBuilder({ maxPayloadBytes: 4 });
    builder.add([
      parsed('a', 1, [r('t'), r('h')]),
      parsed('b', 1, [r('h'), r('t')]),
      parsed('c', 1, [r('t'), r('x'), r('h')]),
      parsed('d', 1, [r('t'), r('x'), r('h')]),
    ]);
    const { metrics, metricIndex } = builder.build().readings;
    expect([...metricIndex].map((k) => metrics[k])).toEqual([
      't',
      'h',
      'h',
      't',
      't',
      'x',
      'h',
      't',
      'x',
      'h',
    ]);
  });

  it("carries each device's number from its route, and none for a device named otherwise", () => {
    const numbered = (deviceId: string, deviceNo: number, readings: Reading[]): ParsedMessage => {
      const p = parsed(deviceId, 1, readings);
      p.message.route = { deviceId, deviceNo };
      return p;
    };
    const builder = new WriteBatchBuilder({ maxPayloadBytes: 4 });
    builder.add([
      numbered('a', 7, rows('t', 1)),
      parsed('b', 1, rows('t', 1)),
      // an adapter's message speaking for another device too (Influx lines): that one has no number
      numbered('c', 2, [...rows('t', 1), { deviceId: 'z', metric: 't', ts: 5, value: 1 }]),
      numbered('a', 7, rows('h', 1)),
    ]);
    const { devices, deviceNumbers } = builder.build().readings;
    expect(devices).toEqual(['a', 'b', 'c', 'z']);
    expect([...deviceNumbers!]).toEqual([7, -1, 2, -1]);
  });

  it('folds arrivals into columns past its first capacity, in order, and keeps the messages to settle', () => {
    const builder = new WriteBatchBuilder({ maxPayloadBytes: 4 });
    builder.add([parsed('a', 10, rows('t', 50)), parsed('b', 11, rows('h', 3))]);
    builder.add([parsed('a', 12, rows('t', 100, 50)), parsed('c', 13, [], 1)]);
    expect(builder.readings).toBe(153);
    expect(builder.messages.map((m) => m.receivedAt)).toEqual([10, 11, 12, 13]);

    const batch = builder.build();
    const { devices, metrics, deviceIndex, metricIndex, ts, value } = batch.readings;
    expect(devices).toEqual(['a', 'b']);
    expect(metrics).toEqual(['t', 'h']);
    expect(ts.length).toBe(153);
    expect([...ts.subarray(0, 3)]).toEqual([0, 1, 2]);
    expect([...ts.subarray(50, 53)]).toEqual([0, 1, 2]);
    expect([...ts.subarray(53, 56)]).toEqual([50, 51, 52]);
    expect(ts[152]).toBe(149);
    expect(value[152]).toBe(49.5);
    expect(deviceIndex[51]).toBe(1);
    expect(metricIndex[51]).toBe(1);
    expect(deviceIndex[152]).toBe(0);
    // a: newest of its messages (12), b: 11; c had no reading and is no sighting.
    expect([...batch.devices.deviceIndex]).toEqual([0, 1]);
    expect([...batch.devices.seenAt]).toEqual([12, 11]);
    expect(batch.deadLetters).toHaveLength(1);
    expect(batch.deadLetters[0]).toMatchObject({ deviceId: 'c', rejectedCount: 1, payloadBytes: 11 });
    expect(batch.deadLetters[0]!.payload.byteLength).toBe(4);
  });

  it('names each reading of a several-device message by its own device', () => {
    const builder = new WriteBatchBuilder({ maxPayloadBytes: 4 });
    builder.add([
      parsed('bridge', 5, [
        { deviceId: 'x', metric: 't', ts: 1, value: 1 },
        { metric: 't', ts: 2, value: 2 },
        { deviceId: 'y', metric: 't', ts: 3, value: 3 },
      ]),
    ]);
    const { readings, devices } = builder.build();
    expect([...readings.deviceIndex].map((d) => readings.devices[d])).toEqual(['x', 'bridge', 'y']);
    expect([...devices.deviceIndex].map((d) => readings.devices[d])).toEqual(['bridge', 'x', 'y']);
  });

  it('keeps its own copy of the columns after the written ones are transferred away', () => {
    const builder = new WriteBatchBuilder({ maxPayloadBytes: 4 });
    builder.add([parsed('a', 1, rows('t', 3))]);
    const batch = builder.build();
    const columns = builder.columns();
    const { port1, port2 } = new MessageChannel();
    port1.postMessage(batch, [
      batch.readings.ts.buffer as ArrayBuffer,
      batch.readings.value.buffer as ArrayBuffer,
    ]);
    port1.close();
    port2.close();
    expect(batch.readings.ts.length).toBe(0);
    expect([...columns.ts]).toEqual([0, 1, 2]);
    expect([...columns.value]).toEqual([0, 0.5, 1]);
  });
});
