import { describe, expect, it } from 'vitest';
import { routeTopic } from '../../pipelines/decode-telemetry.js';
import { parseTelemetry } from '../../pipelines/parse-telemetry.js';
import type { IngestMessage } from '../../pipelines/telemetry.js';

const limits = { maxPayloadBytes: 1024, maxReadingsPerMessage: 5, maxFutureMs: 60_000, maxPastMs: 3_600_000 };
const T = 1_764_150_000_000;
const msg = (topic: string, payload: string): IngestMessage => ({
  topic,
  payload: Buffer.from(payload),
  qos: 1,
  receivedAt: T,
  settle: () => {},
});
const parse = (payload: string, topic = 'devices/d-1/telemetry') =>
  parseTelemetry(msg(topic, payload), limits);

describe('routeTopic', () => {
  it('accepts both topic forms and names what is wrong otherwise', () => {
    expect(routeTopic('devices/pi_1.a-b/telemetry')).toEqual({ deviceId: 'pi_1.a-b' });
    expect(routeTopic('devices/pi/telemetry/temp')).toEqual({ deviceId: 'pi', metric: 'temp' });
    expect(routeTopic('devices/pi/telemetry/a/b')).toBe('GW_ERR_TOPIC_INVALID');
    expect(routeTopic('devices//telemetry')).toBe('GW_ERR_DEVICE_ID_INVALID');
    expect(routeTopic(`devices/${'x'.repeat(65)}/telemetry`)).toBe('GW_ERR_DEVICE_ID_INVALID');
    expect(routeTopic('devices/pi/telemetry/')).toBe('GW_ERR_METRIC_NAME_INVALID');
  });
});

describe('parseTelemetry', () => {
  it('reads a flat object with the receive time as ts', () => {
    const p = parse('{"temperature": 21.5, "humidity": 40.2}');
    expect(p.readings).toEqual([
      { metric: 'temperature', ts: T, value: 21.5 },
      { metric: 'humidity', ts: T, value: 40.2 },
    ]);
    expect(p.rejectedCount).toBe(0);
  });

  it('reads ts as epoch ms or ISO 8601, in flat and values forms', () => {
    expect(parse(`{"ts": ${T - 1000}, "values": {"t": 1}}`).readings).toEqual([
      { metric: 't', ts: T - 1000, value: 1 },
    ]);
    const iso = new Date(T - 2000).toISOString();
    expect(parse(`{"ts": "${iso}", "t": 2}`).readings).toEqual([{ metric: 't', ts: T - 2000, value: 2 }]);
    expect(parse(`{"ts": "2025-11-26T09:40:00+00:00", "t": 3}`).readings[0]?.ts).toBe(
      Date.parse('2025-11-26T09:40:00Z'),
    );
  });

  it('reads an array batch and keeps per-reading rejections with their index', () => {
    const p = parse(
      `[{"ts": ${T - 3}, "t": 1}, {"ts": ${T - 2}, "t": null}, {"ts": ${T - 1}, "values": {"t": 3}}]`,
    );
    expect(p.readings.map((r) => r.value)).toEqual([1, 3]);
    expect(p.rejections).toEqual([{ index: 1, metric: 't', code: 'GW_ERR_VALUE_NOT_NUMBER' }]);
    expect(p.messageError).toBeUndefined();
  });

  it('refuses a whole message over the reading limit, counted once', () => {
    const p = parse('{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6}');
    expect(p.messageError).toBe('GW_ERR_TOO_MANY_READINGS');
    expect(p.readings).toEqual([]);
  });

  it('reads a bare number on a per-metric topic', () => {
    expect(parse(' -12.5e1\n', 'devices/d/telemetry/temp').readings).toEqual([
      { metric: 'temp', ts: T, value: -125 },
    ]);
    expect(parse('12 13', 'devices/d/telemetry/temp').messageError).toBe('GW_ERR_PAYLOAD_NOT_NUMBER');
    expect(parse('-inf', 'devices/d/telemetry/temp').messageError).toBe('GW_ERR_VALUE_NOT_FINITE');
  });

  it('keeps the device of a refused message when the topic names a valid one', () => {
    expect(parse('{').deviceId).toBe('d-1');
    expect(parse('{"t":1}', 'devices/bad id/telemetry').deviceId).toBeNull();
  });
});
