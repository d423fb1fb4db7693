// kill -9 with minutes not yet rewritten into their rollups: the stale marks
// committed with the readings, so after the restart both tiers answer every
// acknowledged reading once, at once (from raw) and after the writer has
// rewritten the closed minute (storage/rollup-refresh.ts).
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { type GatewayProcess, spawnGateway } from '../../simulators/gateway-process.js';
import { connectLeanPublisher } from '../../simulators/lean-publisher.js';
import { runCli, tempDir } from '../../simulators/run-cli.js';
import type { SeriesResponse } from '../../storage/query/responses.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DEVICES = 4;
const PER_MINUTE = 25;

const running: GatewayProcess[] = [];
afterEach(async () => {
  for (const g of running.splice(0))
    if (g.proc.exitCode === null && g.proc.signalCode === null) await g.stop('SIGKILL');
});

async function countsPerBucket(db: string, from: number, to: number, bucket: '1m' | '1h') {
  const run = await runCli('cli/query-cli.js', [
    'series',
    '--db',
    db,
    '--device',
    'rec-*',
    '--metric',
    'temperature',
    `--from=${from}`,
    `--to=${to}`,
    '--bucket',
    bucket,
    '--agg',
    'count',
    '--format',
    'json',
  ]);
  expect(run.stderr).toBe('');
  const response = JSON.parse(run.stdout) as SeriesResponse;
  expect(response.tier).toBe(bucket);
  return new Map(response.points.map((p) => [p.bucketStart, p.values.count]));
}

describe('rollups after kill -9', () => {
  it('both tiers count exactly the acknowledged readings, before and after the rewrite', async () => {
    const db = join(tempDir(), 'gateway.db');
    const first = await spawnGateway(['--db', db]);
    running.push(first);

    // Readings of the current minute (open in the analytics at the kill) and
    // of the previous one (closed by now, or in the late buffer).
    const current = Math.floor(Date.now() / MINUTE) * MINUTE;
    const acked = new Map<number, number>();
    await Promise.all(
      Array.from({ length: DEVICES }, async (_, d) => {
        const device = `rec-${d}`;
        const client = await connectLeanPublisher({
          host: '127.0.0.1',
          port: first.mqttPort,
          clientId: device,
        });
        const sends: Promise<unknown>[] = [];
        for (const minute of [current - MINUTE, current]) {
          for (let i = 0; i < PER_MINUTE; i++) {
            const payload = JSON.stringify({
              ts: minute + i * 1_000 + d,
              values: { temperature: 20 + i / 10 },
            });
            sends.push(
              client.publish(`devices/${device}/telemetry`, payload, 1).then(() => {
                acked.set(minute, (acked.get(minute) ?? 0) + 1);
              }),
            );
          }
        }
        await Promise.all(sends);
        client.destroy();
      }),
    );
    expect([...acked.values()]).toEqual([DEVICES * PER_MINUTE, DEVICES * PER_MINUTE]);

    first.proc.kill('SIGKILL');
    await first.exited;

    const second = await spawnGateway(['--db', db, '--stats-interval-ms', '100']);
    running.push(second);
    const firstHour = Math.floor((current - MINUTE) / HOUR) * HOUR;
    const check = async () => {
      expect(await countsPerBucket(db, current - MINUTE, current + MINUTE, '1m')).toEqual(acked);
      const hours = await countsPerBucket(db, firstHour, firstHour + 2 * HOUR, '1h');
      expect([...hours.values()].reduce((a, b) => (a ?? 0) + (b ?? 0), 0)).toBe(2 * DEVICES * PER_MINUTE);
    };
    await check();

    // The previous minute closes; the restarted writer rewrites it from raw by itself.
    const reader = new Database(db, { readonly: true });
    try {
      const rows = () =>
        reader
          .prepare(
            `SELECT (SELECT count(*) FROM rollups_1m_stale WHERE bucket = ?) AS stale,
                    (SELECT coalesce(sum(count), 0) FROM rollups_1m WHERE bucket = ?) AS stored`,
          )
          .get(current - MINUTE, current - MINUTE) as { stale: number; stored: number };
      await new Promise<void>((resolve, reject) => {
        const deadline = setTimeout(
          () => reject(new Error(`not rewritten: ${JSON.stringify(rows())}`)),
          45_000,
        );
        const poll = () => {
          const r = rows();
          if (r.stale === 0 && r.stored === DEVICES * PER_MINUTE) {
            clearTimeout(deadline);
            second.proc.stdout?.off('data', poll);
            resolve();
          }
        };
        // Looked at on each of the gateway's log lines (a stats line every 100 ms).
        second.proc.stdout?.on('data', poll);
        poll();
      });
    } finally {
      reader.close();
    }
    await check();
    expect(await second.stop('SIGTERM')).toBe(0);
  });
});
