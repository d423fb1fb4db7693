import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { type GatewayProcess, spawnGateway } from '../../simulators/gateway-process.js';
import { tempDir } from '../../simulators/run-cli.js';
import { METRICS, startAckedLoad } from '../support/load.js';

const running: GatewayProcess[] = [];
afterEach(async () => {
  for (const g of running.splice(0))
    if (g.proc.exitCode === null && g.proc.signalCode === null) await g.stop('SIGKILL');
});

/** Every acknowledged message must be stored, each reading exactly once. */
function checkAckedStored(dbPath: string, acked: Set<string>) {
  const db = new Database(dbPath, { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const count = db.prepare(
      `SELECT count(*) AS n FROM readings r JOIN series s ON s.id = r.series_id
       WHERE s.device_id = ? AND r.ts = ?`,
    );
    let missing = 0;
    for (const key of acked) {
      const [deviceId, ts] = key.split('|');
      const { n } = count.get(deviceId, Number(ts)) as { n: number };
      if (n !== METRICS.length) missing++;
    }
    expect(missing).toBe(0);
    const dupes = db
      .prepare(
        'SELECT count(*) AS n FROM (SELECT series_id, ts FROM readings GROUP BY series_id, ts HAVING count(*) > 1)',
      )
      .get() as { n: number };
    expect(dupes.n).toBe(0);
  } finally {
    db.close();
  }
}

describe('ack means stored', () => {
  // Kill moments are chosen by acknowledged-message counts, not timers, so
  // each round kills at a different point of the load on any machine speed.
  for (const killAfter of [300, 1500, 4000 + Math.floor(Math.random() * 4000)]) {
    it(`kill -9 after ${killAfter} acks loses no acknowledged reading`, async () => {
      const db = join(tempDir(), 'gateway.db');
      const first = await spawnGateway(['--db', db]);
      running.push(first);
      const load = await startAckedLoad({ port: first.mqttPort, devices: 200 });
      await load.whenAcked(killAfter);
      first.proc.kill('SIGKILL');
      await first.exited;
      load.stop();
      await load.finished;
      expect(load.acked.size).toBeGreaterThanOrEqual(killAfter);

      // Restart on the same database: recovery must keep every acked reading.
      const second = await spawnGateway(['--db', db]);
      running.push(second);
      expect(await second.stop('SIGTERM')).toBe(0);
      checkAckedStored(db, load.acked);
    });
  }

  it('SIGTERM under load drains, exits 0 and keeps every acknowledged reading', async () => {
    const db = join(tempDir(), 'gateway.db');
    const g = await spawnGateway(['--db', db]);
    running.push(g);
    const load = await startAckedLoad({ port: g.mqttPort, devices: 200 });
    await load.whenAcked(2000);
    const code = await g.stop('SIGTERM');
    load.stop();
    await load.finished;
    expect(code).toBe(0);
    checkAckedStored(db, load.acked);
  });
});
