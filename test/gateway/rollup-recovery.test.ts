// kill -9 with minutes open in the analytics: after the restart the 1-minute
// and 1-hour tiers hold every acknowledged reading once (gateway/recover-rollups.ts).
import { join } from 'node:path';
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
  it('a restart rebuilds the open minutes: both tiers count exactly the acknowledged readings', async () => {
    const db = join(tempDir(), 'gateway.db');
    const first = await spawnGateway(['--db', db, '--analytics', 'on']);
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

    const second = await spawnGateway(['--db', db, '--analytics', 'on']);
    running.push(second);
    expect(await second.stop('SIGTERM')).toBe(0);

    const minutes = await countsPerBucket(db, current - MINUTE, current + MINUTE, '1m');
    expect(minutes).toEqual(acked);
    const firstHour = Math.floor((current - MINUTE) / HOUR) * HOUR;
    const hours = await countsPerBucket(db, firstHour, firstHour + 2 * HOUR, '1h');
    expect([...hours.values()].reduce((a, b) => (a ?? 0) + (b ?? 0), 0)).toBe(2 * DEVICES * PER_MINUTE);
    // One line says what the start-up rebuilt.
    const rebuilt = second.logs.find(
      (l) => typeof l.msg === 'string' && l.msg.startsWith('analytics: rebuilt'),
    );
    expect(rebuilt).toMatchObject({ readings: 2 * DEVICES * PER_MINUTE });

    // After that clean stop every minute is committed: the next start rebuilds nothing.
    const third = await spawnGateway(['--db', db, '--analytics', 'on']);
    running.push(third);
    expect(await third.stop('SIGTERM')).toBe(0);
    expect(third.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('analytics: rebuilt'))).toBe(
      false,
    );
    expect(await countsPerBucket(db, current - MINUTE, current + MINUTE, '1m')).toEqual(acked);
  });
});
