// Consumer mode end to end: two built gateways in one share group on the
// Mosquitto of the project's machines (2.0.11, 127.0.0.1:1883), storing into a
// fresh PostgreSQL schema. Every message Mosquitto acknowledged to the
// publisher must end up stored exactly once, also when one gateway is killed
// with SIGKILL mid-run and restarted with the same ClientId.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GatewayProcess } from '../../simulators/gateway-process.js';
import { createTestSchema, type TestSchema } from '../postgres/pg-schema.js';
import { METRICS, startAckedLoad } from '../support/load.js';
import { discardSessions, runId, spawnConsumer, untilLogged } from './consumer-fixture.js';

const SESSIONS = 2;
// Below Mosquitto's max_queued_messages (1000 per session, the default) even
// if every message queued behind one gateway's sessions: beyond it Mosquitto
// drops messages it already acknowledged (docs/scale-out.md).
const MESSAGES = 1200;

/** readings.stored of a gateway's final totals line (logged on SIGTERM) */
function storedBy(g: GatewayProcess): number {
  const line = g.logs.find((l) => l.msg === 'stopped') as
    | { totals?: { readingsStored?: number } }
    | undefined;
  return line?.totals?.readingsStored ?? Number.NaN;
}

describe('consumer mode: two gateways in one share group, PostgreSQL behind', () => {
  let schema: TestSchema;
  let id: string;
  const running = new Set<GatewayProcess>();
  const clientIds = (name: string) => Array.from({ length: SESSIONS }, (_, i) => `t7-${id}-${name}-${i}`);

  beforeEach(async () => {
    schema = await createTestSchema();
    id = runId();
  });
  afterEach(async () => {
    await Promise.all([...running].map((g) => g.stop('SIGTERM')));
    running.clear();
    await discardSessions([...clientIds('a'), ...clientIds('b')]);
    await schema.drop();
  });

  const start = async (name: string) => {
    const g = await spawnConsumer({
      db: schema.url,
      group: `t7-${id}`,
      clientId: `t7-${id}-${name}`,
      sessions: SESSIONS,
    });
    running.add(g);
    return g;
  };
  const stop = async (g: GatewayProcess) => {
    expect(await g.stop('SIGTERM')).toBe(0);
    running.delete(g);
  };

  /** "device|ts" -> readings stored, for this run's devices */
  const stored = async () => {
    const rows = await schema.query<{ device_id: string; ts: number; n: number }>(
      `SELECT s.device_id, r.ts, count(*)::integer AS n FROM readings r JOIN series s ON s.id = r.series_id
         WHERE s.device_id LIKE $1 GROUP BY 1, 2`,
      [`t7-${id}-dev-%`],
    );
    return new Map(rows.map((r) => [`${r.device_id}|${r.ts}`, r.n]));
  };
  const allStored = (acked: Set<string>) => async () => {
    const rows = await stored();
    for (const key of acked) if (rows.get(key) !== METRICS.length) return false;
    return true;
  };
  const totalReadings = async () =>
    (await schema.query<{ n: number }>('SELECT count(*)::integer AS n FROM readings'))[0]!.n;

  it('stores every acknowledged message exactly once, split over both gateways', async () => {
    const a = await start('a');
    const b = await start('b');
    const load = await startAckedLoad({ port: 1883, devices: 10, prefix: `t7-${id}-dev` });
    await load.whenAcked(MESSAGES);
    load.stop();
    await load.finished;
    await untilLogged([a, b], allStored(load.acked), 60_000, 'every acknowledged message stored');
    await stop(a);
    await stop(b);
    const total = await totalReadings();
    expect(total).toBeGreaterThanOrEqual(load.acked.size * METRICS.length);
    // Each gateway stored a share, and no reading twice: their counts add up to the table.
    expect(storedBy(a)).toBeGreaterThan(0);
    expect(storedBy(b)).toBeGreaterThan(0);
    expect(storedBy(a) + storedBy(b)).toBe(total);
  });

  it('kill -9 of one gateway mid-run: its restart with the same ClientId stores what Mosquitto held for it', async () => {
    const a = await start('a');
    const b = await start('b');
    const load = await startAckedLoad({ port: 1883, devices: 10, prefix: `t7-${id}-dev` });
    await load.whenAcked(MESSAGES / 3);
    a.proc.kill('SIGKILL');
    expect(await a.exited).toBeNull();
    running.delete(a);
    await load.whenAcked(MESSAGES);
    load.stop();
    await load.finished;
    const before = (await stored()).size;
    // Mosquitto 2.0.11 neither hands the dead sessions' messages to the other
    // members of the group nor stops routing new ones to them: they wait in
    // the sessions until the same ClientIds come back.
    const again = await start('a');
    await untilLogged([again, b], allStored(load.acked), 60_000, 'every acknowledged message stored');
    const resumed = again.logs.filter((l) => l.msg === 'ingest: connected');
    expect(resumed.map((l) => l.sessionPresent)).toEqual(Array(SESSIONS).fill(true));
    await stop(again);
    await stop(b);
    const rows = await stored();
    for (const key of load.acked) expect(rows.get(key), key).toBe(METRICS.length);
    const total = await totalReadings();
    expect(total).toBe([...rows.values()].reduce((x, y) => x + y, 0));
    process.stdout.write(
      `kill test: ${load.acked.size} acked by Mosquitto, ${before} stored before the restart, ` +
        `${rows.size} after; restarted gateway stored ${storedBy(again)} readings, survivor ${storedBy(b)}\n`,
    );
  });
});
