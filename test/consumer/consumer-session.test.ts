// The consumer's ack protocol against the real Mosquitto: a message whose
// write failed is not acknowledged, and the broker delivers it again.
import mqtt from 'mqtt';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { backoffDelay } from '../../core/backoff.js';
import { gatewayError } from '../../core/errors.js';
import { type RunningConsumer, shareTopics, startConsumer } from '../../gateway/consumer/start-consumer.js';
import type { IngestMessage } from '../../pipelines/telemetry.js';
import { discardSessions, MOSQUITTO_URL, runId } from './consumer-fixture.js';

describe('backoffDelay', () => {
  const opts = { initialMs: 100, maxMs: 1000, jitter: 'full' } as const;
  it('grows exponentially up to the cap, never below the initial delay', () => {
    expect([0, 1, 2, 3, 10].map((a) => backoffDelay(a, { ...opts, random: () => 1 }))).toEqual([
      100, 200, 400, 800, 1000,
    ]);
    expect(backoffDelay(10, { ...opts, random: () => 0 })).toBe(100);
  });
});

describe('consumer session on Mosquitto', () => {
  let consumer: RunningConsumer | undefined;
  const ids: string[] = [];
  afterEach(async () => {
    await consumer?.close();
    consumer = undefined;
    await discardSessions(ids.splice(0));
  });

  it('subscribes to both telemetry forms under $share', () => {
    expect(shareTopics('g1')).toEqual(['$share/g1/devices/+/telemetry', '$share/g1/devices/+/telemetry/+']);
  });

  it('does not ack a message whose write failed; Mosquitto delivers it again on the new connection', async () => {
    const id = runId();
    const seen: Array<{ topic: string; payload: string }> = [];
    let resolveTwice!: () => void;
    const twice = new Promise<void>((r) => {
      resolveTwice = r;
    });
    const pipeline = {
      offer(message: IngestMessage, admitted: () => void) {
        admitted();
        seen.push({ topic: message.topic, payload: Buffer.from(message.payload).toString() });
        // The first attempt fails as a storage error would; the redelivery commits.
        queueMicrotask(() => {
          if (seen.length === 1) message.settle(gatewayError('GW_ERR_STORAGE_UNAVAILABLE', 'test'));
          else {
            message.settle();
            resolveTwice();
          }
        });
      },
    };
    ids.push(`c7-${id}-0`);
    consumer = await startConsumer({
      url: MOSQUITTO_URL,
      shareGroup: `c7-${id}`,
      clientId: `c7-${id}`,
      sessions: 1,
      pipeline,
      logger: pino({ level: 'silent' }),
      backoff: { initialMs: 10, maxMs: 50, jitter: 'full' },
    });
    const pub = await mqtt.connectAsync(MOSQUITTO_URL, { clientId: `c7-${id}-pub` });
    await pub.publishAsync(`devices/c7-${id}/telemetry`, '{"t": 1}', { qos: 1 });
    await pub.endAsync();
    await twice;
    expect(seen).toEqual([
      { topic: `devices/c7-${id}/telemetry`, payload: '{"t": 1}' },
      { topic: `devices/c7-${id}/telemetry`, payload: '{"t": 1}' },
    ]);
    expect(consumer.delivered()).toBe(2);
  });
  it('holds a window of messages in one session, settled out of order, and acks them all', async () => {
    const id = runId();
    const WINDOW = 10;
    const held: IngestMessage[] = [];
    let resolveFull!: () => void;
    const full = new Promise<void>((r) => {
      resolveFull = r;
    });
    const pipeline = {
      offer(message: IngestMessage, admitted: () => void) {
        admitted();
        held.push(message);
        if (held.length === WINDOW) resolveFull();
      },
    };
    const clientId = `c16-${id}`;
    ids.push(`${clientId}-0`);
    consumer = await startConsumer({
      url: MOSQUITTO_URL,
      shareGroup: `c16-${id}`,
      clientId,
      sessions: 1,
      pipeline,
      logger: pino({ level: 'silent' }),
    });
    const pub = await mqtt.connectAsync(MOSQUITTO_URL, { clientId: `c16-${id}-pub` });
    for (let i = 0; i < WINDOW; i++)
      await pub.publishAsync(`devices/c16-${id}/telemetry`, `${i}`, { qos: 1 });
    // All ten reach the pipeline while none is settled: mqtt.js would have
    // handed over the next only after the previous one's ack.
    await full;
    expect(held.map((m) => Buffer.from(m.payload).toString())).toEqual(
      Array.from({ length: WINDOW }, (_, i) => `${i}`),
    );
    for (const m of [...held].reverse()) m.settle();
    await consumer.close();
    consumer = undefined;
    // Acked: the same session, resumed, gets the next message first and no resend.
    const again = await mqtt.connectAsync(MOSQUITTO_URL, { clientId: `${clientId}-0`, clean: false });
    const first = new Promise<string>((r) => again.once('message', (_t, p) => r(p.toString())));
    await pub.publishAsync(`devices/c16-${id}/telemetry`, 'next', { qos: 1 });
    expect(await first).toBe('next');
    await again.endAsync();
    await pub.endAsync();
  });
});
