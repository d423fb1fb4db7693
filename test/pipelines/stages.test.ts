import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { decodeTelemetry } from '../../pipelines/decode-telemetry.js';
import type { IngestMessage } from '../../pipelines/telemetry.js';
import { validateTelemetry } from '../../pipelines/validate-telemetry.js';

const limits = { maxPayloadBytes: 64, maxReadingsPerMessage: 10, maxFutureMs: 1000, maxPastMs: 1000 };
const T = 1_764_150_000_000;
const settle = () => {};
const msg = (topic: string, payload: string): IngestMessage => ({
  topic,
  payload: Buffer.from(payload),
  qos: 1,
  receivedAt: T,
  settle,
});
const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('decodeTelemetry', () => {
  it('decodes each message as it comes, refusals included, and completes with the source', () => {
    const a = msg('devices/d/telemetry', '{"t":1}');
    const b = msg('devices/d/telemetry/t', '2.5');
    const c = msg('devices/d/telemetry', '{');
    scheduler().run(({ hot, expectObservable }) => {
      expectObservable(hot('-a-b-c-|', { a, b, c }).pipe(decodeTelemetry(limits))).toBe('-a-b-c-|', {
        a: { message: a, deviceId: 'd', body: { t: 1 } },
        b: { message: b, deviceId: 'd', metric: 't', body: 2.5 },
        c: { message: c, deviceId: 'd', error: 'GW_ERR_PAYLOAD_NOT_JSON' },
      });
    });
  });

  it('passes an upstream error through', () => {
    scheduler().run(({ hot, expectObservable }) => {
      expectObservable(hot<IngestMessage>('--#').pipe(decodeTelemetry(limits))).toBe('--#');
    });
  });
});

describe('validateTelemetry', () => {
  it('normalises ts, defaults it to the receive time, and keeps a refusal as a value', () => {
    const a = msg('devices/d/telemetry', '');
    const iso = new Date(T - 500).toISOString();
    scheduler().run(({ cold, expectObservable }) => {
      const decoded = cold('ab|', {
        a: { message: a, deviceId: 'd', body: [{ ts: iso, t: 1 }, { t: 2 }] },
        b: { message: a, deviceId: 'd', error: 'GW_ERR_PAYLOAD_EMPTY' as const },
      });
      expectObservable(decoded.pipe(validateTelemetry(limits))).toBe('ab|', {
        a: {
          message: a,
          deviceId: 'd',
          readings: [
            { metric: 't', ts: T - 500, value: 1 },
            { metric: 't', ts: T, value: 2 },
          ],
          rejections: [],
          rejectedCount: 0,
        },
        b: {
          message: a,
          deviceId: 'd',
          readings: [],
          rejections: [{ index: 0, code: 'GW_ERR_PAYLOAD_EMPTY' }],
          messageError: 'GW_ERR_PAYLOAD_EMPTY',
          rejectedCount: 1,
        },
      });
    });
  });

  it('stops with an early unsubscribe', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const src = hot('-----a', { a: { message: msg('devices/d/telemetry', '1'), deviceId: 'd', body: 1 } });
      expectObservable(src.pipe(validateTelemetry(limits)), '^--!').toBe('---');
      expectSubscriptions(src.subscriptions).toBe('^--!');
    });
  });
});
