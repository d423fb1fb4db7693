// Consumer mode on RabbitMQ end to end: devices publish MQTT at QoS 1 to
// RabbitMQ's MQTT plugin (3.10, 127.0.0.1:1885); two built gateways consume
// one quorum queue over AMQP and store into a fresh PostgreSQL schema. One
// is killed with SIGKILL mid-run and never comes back: every message
// RabbitMQ acknowledged to a device must be stored exactly once, the dead
// gateway's unacked window by the survivor.
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GatewayProcess } from '../../simulators/gateway-process.js';
import { createTestSchema, type TestSchema } from '../postgres/pg-schema.js';
import { METRICS, startAckedLoad } from '../support/load.js';
import { untilLogged } from './consumer-fixture.js';
import { deleteQueues, RABBIT_MQTT_PORT, spawnAmqpConsumer } from './rabbitmq-fixture.js';

const MESSAGES = 3000;

function finalLine(g: GatewayProcess, msg: string): Record<string, unknown> | undefined {
  return g.logs.find((l) => l.msg === msg);
}

describe('consumer mode on RabbitMQ: two gateways, one quorum queue, PostgreSQL behind', () => {
  let schema: TestSchema;
  let id: string;
  let queue: string;
  const running = new Set<GatewayProcess>();

  beforeEach(async () => {
    schema = await createTestSchema();
    id = randomBytes(4).toString('hex');
    queue = `t16-${id}`;
  });
  afterEach(async () => {
    await Promise.all([...running].map((g) => g.stop('SIGTERM')));
    running.clear();
    await deleteQueues([queue]);
    await schema.drop();
  });

  const start = async () => {
    const g = await spawnAmqpConsumer({ db: schema.url, queue, prefetch: 200 });
    running.add(g);
    return g;
  };

  /** "device|ts" -> readings stored, for this run's devices */
  const stored = async () => {
    const rows = await schema.query<{ device_id: string; ts: number; n: number }>(
      `SELECT s.device_id, r.ts, count(*)::integer AS n FROM readings r JOIN series s ON s.id = r.series_id
         WHERE s.device_id LIKE $1 GROUP BY 1, 2`,
      [`t16-${id}-dev-%`],
    );
    return new Map(rows.map((r) => [`${r.device_id}|${r.ts}`, r.n]));
  };

  it('kill -9 of one gateway for good: every message RabbitMQ acked is stored once, the rest by the survivor', async () => {
    const a = await start();
    const b = await start();
    const load = await startAckedLoad({
      port: RABBIT_MQTT_PORT,
      devices: 10,
      window: 4,
      prefix: `t16-${id}-dev`,
    });
    await load.whenAcked(MESSAGES / 3);
    a.proc.kill('SIGKILL');
    expect(await a.exited).toBeNull();
    running.delete(a);
    const atKill = (await stored()).size;
    await load.whenAcked(MESSAGES);
    load.stop();
    await load.finished;
    await untilLogged(
      [b],
      async () => {
        const rows = await stored();
        for (const key of load.acked) if (rows.get(key) !== METRICS.length) return false;
        return true;
      },
      60_000,
      'every acknowledged message stored',
    );
    expect(await b.stop('SIGTERM')).toBe(0);
    running.delete(b);

    const rows = await stored();
    for (const key of load.acked) expect(rows.get(key), key).toBe(METRICS.length);
    // Nothing stored that no device sent, and no message stored in part.
    expect(rows.size).toBeLessThanOrEqual(load.sent);
    for (const n of rows.values()) expect(n).toBe(METRICS.length);
    const closed = finalLine(b, 'ingest: closed') as { delivered: number; redelivered: number };
    const totals = (finalLine(b, 'stopped') as { totals: { readingsStored: number } }).totals;
    // The dead gateway's unacked window went to the survivor.
    expect(closed.redelivered).toBeGreaterThan(0);
    expect(totals.readingsStored).toBeGreaterThan(0);
    process.stdout.write(
      `rabbitmq kill test: ${load.acked.size} acked by RabbitMQ (${load.sent} sent), ` +
        `${atKill} stored when a was killed, ${rows.size} at the end; survivor stored ` +
        `${totals.readingsStored} readings, got ${closed.delivered} deliveries, ${closed.redelivered} redelivered\n`,
    );
  });
});
