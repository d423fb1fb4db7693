// Scenario "freshness": how soon after its ack a reading is in the answers
// users read. Under the steady load (N devices × 1/s, QoS 1), a probe device
// publishes one reading at a time at QoS 1; right after each PUBACK the bench
// asks the HTTP API for the probe's series by the minute and by the hour,
// again and again until both answers hold every probe reading acked so far.
// Reported: ack → first complete answer, p50/p99/max, per tier.

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnGateway } from '../simulators/gateway-process.js';
import { connectLeanPublisher } from '../simulators/lean-publisher.js';
import { tempDir } from '../simulators/run-cli.js';
import { startPacedFleet } from './lib/paced-fleet.js';
import type { ScenarioOptions } from './lib/scenario.js';

export const about =
  'how soon after its ack a reading is in the 1m and 1h series answers, under the steady load';

export const options = {
  devices: { type: 'string', default: '5000' },
  probes: { type: 'string', default: '30' },
  warmup: { type: 'string', default: '15' },
} satisfies ScenarioOptions;

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options });
  const gw = await spawnGateway(['--db', join(tempDir('gw-fresh-'), 'gateway.db')]);
  try {
    const fleet = await startPacedFleet({
      host: '127.0.0.1',
      port: gw.mqttPort,
      devices: Number(values.devices),
      rate: 1,
      qos: 1,
      metricsPerMessage: 3,
      ramp: 2000,
    });
    await new Promise((r) => setTimeout(r, Number(values.warmup) * 1000));
    const probe = await connectLeanPublisher({ host: '127.0.0.1', port: gw.mqttPort, clientId: 'probe-0' });
    const delays: Record<'1m' | '1h', number[]> = { '1m': [], '1h': [] };
    let sum = 0;
    for (let i = 1; i <= Number(values.probes); i++) {
      const value = i;
      await probe.publish(
        'devices/probe-0/telemetry',
        JSON.stringify({ ts: Date.now(), values: { probe: value } }),
        1,
      );
      const acked = performance.now();
      sum += value;
      for (const bucket of ['1m', '1h'] as const) {
        for (;;) {
          const url = `http://127.0.0.1:${gw.httpPort}/api/series?device=probe-0&metric=probe&from=-2h&bucket=${bucket}&agg=sum`;
          const body = (await (await fetch(url)).json()) as {
            points: Array<{ values: { sum: number | null } }>;
          };
          const seen = body.points.reduce((n, p) => n + (p.values.sum ?? 0), 0);
          if (seen === sum) break;
        }
        delays[bucket].push(performance.now() - acked);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    probe.destroy();
    await fleet.stop();
    const line = (bucket: '1m' | '1h') => {
      const d = delays[bucket].sort((a, b) => a - b);
      const at = (q: number) => d[Math.min(d.length - 1, Math.floor(q * d.length))]!.toFixed(1);
      return `| ${bucket} | ${d.length} | ${at(0.5)} | ${at(0.99)} | ${d[d.length - 1]!.toFixed(1)} |`;
    };
    process.stdout.write(
      [
        `${values.devices} devices × 1/s QoS 1; a probe reading at a time, then GET /api/series until the answer holds it`,
        '| bucket | probes | ack → in the answer p50 ms | p99 ms | max ms |',
        '| --- | --- | --- | --- | --- |',
        line('1m'),
        line('1h'),
        '',
      ].join('\n'),
    );
  } finally {
    await gw.stop('SIGTERM');
  }
}
