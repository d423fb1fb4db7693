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
  }, 180_000);
  it('two gateways on one store: the series answer by the minute equals the raw readings, from either gateway', async () => {
    const a = await start();
    const b = await start();
    // Readings on both sides of a minute boundary, both minutes closed.
    const baseTs = Math.floor(Date.now() / 60_000) * 60_000 - 60_000 - 200;
    const load = await startAckedLoad({
      port: RABBIT_MQTT_PORT,
      devices: 10,
      window: 4,
      baseTs,
      prefix: `t16-${id}-dev`,
    });
    await load.whenAcked(900);
    load.stop();
    await load.finished;
    const acked = load.acked;
    await untilLogged(
      [a, b],
      async () => {
        const rows = await stored();
        for (const key of acked) if (rows.get(key) !== METRICS.length) return false;
        return true;
      },
      60_000,
      'every acknowledged message stored',
    );
    // The writers rewrite the closed minutes from raw between their batches:
    // once none is listed stale, the answer comes from the 1-minute tier.
    await untilLogged(
      [a, b],
      async () =>
        (await schema.query<{ n: number }>('SELECT count(*)::integer AS n FROM rollups_1m_stale'))[0]!.n ===
        0,
      60_000,
      'the 1-minute tier rewritten',
    );
    const raw = await schema.query<{ ts: number; count: number; min: number; max: number; avg: number }>(
      `SELECT (r.ts / 60000) * 60000 AS ts, count(*)::integer AS count, min(r.value) AS min, max(r.value) AS max,
              avg(r.value) AS avg
         FROM readings r JOIN series s ON s.id = r.series_id
        WHERE s.device_id LIKE $1 AND s.metric = 'temperature' GROUP BY 1 ORDER BY 1`,
      [`t16-${id}-dev-%`],
    );
    const url = (g: GatewayProcess) =>
      `http://127.0.0.1:${g.httpPort}/api/series?device=t16-${id}-dev-*&metric=temperature&from=-2h&to=now&bucket=1m&agg=count,min,max,avg`;
    expect(raw.length).toBe(2);
    for (const g of [a, b]) {
      const answer = (await (await fetch(url(g))).json()) as {
        points: Array<{
          bucketStart: number;
          values: { count: number; min: number; max: number; avg: number };
        }>;
      };
      expect(
        answer.points.map((p) => ({ ts: p.bucketStart, ...p.values })),
        `gateway ${g.pid}`,
      ).toEqual(
        raw.map((r) => ({
          ts: Number(r.ts),
          count: r.count,
          min: r.min,
          max: r.max,
          avg: expect.closeTo(r.avg, 9),
        })),
      );
    }
    // Both gateways stored part of it: the rollups merge two writers' readings.
    await a.stop('SIGTERM');
    await b.stop('SIGTERM');
    running.clear();
    for (const g of [a, b]) {
      expect(
        (finalLine(g, 'stopped') as { totals: { readingsStored: number } }).totals.readingsStored,
      ).toBeGreaterThan(0);
    }
  });
});
