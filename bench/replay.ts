// Scenario "replay": a replay storm on top of the steady load. N devices send
// 1 msg/s at QoS 1; after a warm-up, a share of them (as extra connections)
// empty a buffer of M minutes of readings at once, as devices coming back
// from an outage do, in batch messages with their original timestamps. Every
// one of those minutes is then stale and rewritten from raw by the writer.
// Reported: the steady devices' ack latency before and during the storm, the
// gateway's event-loop max and the writer's longest slice, how long the
// replay took to be acknowledged and its minutes to be rewritten, and whether
// the fleet answer over the replayed period equals the readings sent.

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { spawnGateway } from '../simulators/gateway-process.js';
import { connectLeanPublisher, type LeanPublisher } from '../simulators/lean-publisher.js';
import { tempDir } from '../simulators/run-cli.js';
import { createSqliteQueries } from '../storage/sqlite/query/sqlite-queries.js';
import { startPacedFleet } from './lib/paced-fleet.js';
import { median } from './lib/proc-stats.js';
import type { ScenarioOptions } from './lib/scenario.js';

const MINUTE = 60_000;

/** one line for `npm run bench -- --help` */
export const about =
  'a replay storm on the steady load: devices back from an outage send minutes of readings at once; ack latency, stalls and rewrite time';

export const options = {
  devices: { type: 'string', default: '5000' },
  share: { type: 'string', default: '0.2' },
  minutes: { type: 'string', default: '30' },
  'per-message': { type: 'string', default: '60' },
  'in-flight': { type: 'string', default: '4' },
  warmup: { type: 'string', default: '20' },
} satisfies ScenarioOptions;

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options });
  const devices = Number(values.devices);
  const replayers = Math.round(devices * Number(values.share));
  const minutes = Number(values.minutes);
  const perMessage = Number(values['per-message']);
  const inFlight = Number(values['in-flight']);
  const db = join(tempDir('gw-replay-'), 'gateway.db');
  const gw = await spawnGateway(['--db', db, '--stats-interval-ms', '2000']);
  try {
    const fleet = await startPacedFleet({
      host: '127.0.0.1',
      port: gw.mqttPort,
      devices,
      rate: 1,
      qos: 1,
      metricsPerMessage: 3,
      ramp: 2000,
    });
    await new Promise((r) => setTimeout(r, Number(values.warmup) * 1000));
    fleet.window();
    const statsFrom = gw.logs.length;
    await new Promise((r) => setTimeout(r, 20_000));
    const before = fleet.window();
    const beforeStats = statsOf(gw.logs.slice(statsFrom));

    // The storm: each replaying device sends minutes × 60 readings of 3 metrics.
    const clients: LeanPublisher[] = [];
    for (let i = 0; i < replayers; i += 200) {
      clients.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(200, replayers - i) }, (_, k) =>
            connectLeanPublisher({ host: '127.0.0.1', port: gw.mqttPort, clientId: `replay-${i + k}` }),
          ),
        )),
      );
    }
    const stormStats = gw.logs.length;
    const start = Math.floor((Date.now() - minutes * MINUTE - 2 * MINUTE) / MINUTE) * MINUTE;
    const readingsPerDevice = minutes * 60;
    const started = performance.now();
    let sentReadings = 0;
    await Promise.all(
      clients.map(async (client, d) => {
        let next = 0;
        const lane = async () => {
          while (next < readingsPerDevice) {
            const from = next;
            next += perMessage;
            const batch = [];
            for (let k = from; k < Math.min(from + perMessage, readingsPerDevice); k++) {
              batch.push({ ts: start + k * 1000, values: { m0: (d % 10) + (k % 7), m1: k % 5, m2: 1 } });
            }
            await client.publish(`devices/replay-${d}/telemetry`, JSON.stringify(batch), 1);
            sentReadings += batch.length * 3;
          }
        };
        await Promise.all(Array.from({ length: inFlight }, lane));
      }),
    );
    const ackedSeconds = (performance.now() - started) / 1000;
    const during = fleet.window();

    // Until every closed stale minute has been rewritten.
    const reader = new Database(db, { readonly: true });
    const staleLeft = () =>
      reader
        .prepare('SELECT count(*) FROM rollups_1m_stale WHERE bucket < ?')
        .pluck()
        .get(Date.now() - 2 * MINUTE) as number;
    while (staleLeft() > 0) await new Promise((r) => setTimeout(r, 500));
    const rewrittenSeconds = (performance.now() - started) / 1000;
    const stormLog = statsOf(gw.logs.slice(stormStats));

    const queries = createSqliteQueries(reader);
    let counted = 0;
    for (const metric of ['m0', 'm1', 'm2']) {
      const answer = queries.series({
        device: 'replay-*',
        metric,
        from: start,
        to: start + minutes * MINUTE,
        bucketMs: MINUTE,
        aggs: ['count'],
      });
      counted += answer.points.reduce((n, p) => n + (p.values.count ?? 0), 0);
    }
    reader.close();
    await Promise.all(clients.map((c) => c.end()));
    await fleet.stop();

    const f = (n: number) => n.toFixed(1);
    process.stdout.write(
      [
        `steady ${devices} devices × 1/s; replay: ${replayers} devices × ${minutes} min (${sentReadings.toLocaleString('en')} readings in ${perMessage}-reading messages, ${inFlight} in flight each)`,
        `| | steady ack p50 ms | steady ack p99 ms | event-loop max ms (worst 2 s window) | ack hold p99 ms (median / worst window) | writer longest ms | rollup slice longest ms |`,
        '| --- | --- | --- | --- | --- | --- | --- |',
        `| before the storm | ${f(before.p50)} | ${f(before.p99)} | ${f(beforeStats.loopMax)} | ${f(beforeStats.holdMedian)} / ${f(beforeStats.holdMax)} | ${f(beforeStats.writerMax)} | ${f(beforeStats.rollupMax)} |`,
        `| during the storm | ${f(during.p50)} | ${f(during.p99)} | ${f(stormLog.loopMax)} | ${f(stormLog.holdMedian)} / ${f(stormLog.holdMax)} | ${f(stormLog.writerMax)} | ${f(stormLog.rollupMax)} |`,
        `replay acknowledged in ${f(ackedSeconds)} s (${Math.round(sentReadings / ackedSeconds).toLocaleString('en')} readings/s); every replayed minute rewritten ${f(rewrittenSeconds)} s after the storm began`,
        `fleet 1m answer over the replayed period: ${counted.toLocaleString('en')} readings (sent ${sentReadings.toLocaleString('en')})${counted === sentReadings ? '' : '  MISMATCH'}`,
        '',
      ].join('\n'),
    );
  } finally {
    await gw.stop('SIGTERM');
  }
}

function statsOf(logs: Array<Record<string, unknown>>) {
  const stats = logs
    .map((l) => l.stats as Record<string, number> | undefined)
    .filter((s): s is Record<string, number> => s !== undefined);
  const pick = (k: string) => stats.map((s) => s[k]).filter((v): v is number => typeof v === 'number');
  return {
    loopMax: Math.max(0, ...pick('eventLoopMaxMs')),
    holdMedian: median(pick('ackHoldP99Ms')),
    holdMax: Math.max(0, ...pick('ackHoldP99Ms')),
    writerMax: Math.max(0, ...pick('writerLongestMs')),
    rollupMax: Math.max(0, ...pick('rollupLongestMs')),
  };
}
