// Scenario "scale": the same closed-loop load at 1k, 5k and ~20k connections.
// Reports acks/s, RSS, RSS per connection and CPU per message at each, and
// draws docs/scale.svg, to show how cost grows with the number of devices.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from '../simulators/run-cli.js';
import { startPeer } from './lib/peers.js';
import { cpuSeconds, rssBytes } from './lib/proc-stats.js';
import type { ScenarioOptions } from './lib/scenario.js';
import { lineChartSvg } from './lib/svg-chart.js';
import { startWindowFleet } from './lib/window-fleet.js';

interface ScalePoint {
  connections: number;
  acksPerSec: number;
  ackP99Ms: number;
  idleRssMb: number;
  connectedRssMb: number;
  loadedRssMb: number;
  /** (connected - idle) / connections: what an open, quiet connection costs */
  rssPerConnectionKb: number;
  /** (loaded - idle) / connections: the same under saturating load, queues included */
  loadedRssPerConnectionKb: number;
  cpuUsPerMessage: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runScale(connections: number, seconds: number): Promise<ScalePoint> {
  const peer = await startPeer('gateway', [
    '--stats-interval-ms',
    '60000',
    '--max-connections',
    String(connections + 100),
  ]);
  try {
    const idle = rssBytes(peer.pid);
    // The same 2-message window as `saturate`, so each point is a ceiling.
    const fleet = await startWindowFleet({
      host: '127.0.0.1',
      port: peer.port,
      connections,
      window: 2,
      metricsPerMessage: 3,
    });
    await sleep(3000);
    const connected = rssBytes(peer.pid);
    fleet.window();
    const cpu0 = cpuSeconds(peer.pid);
    await sleep(seconds * 1000);
    const w = fleet.window();
    const cpu = cpuSeconds(peer.pid) - cpu0;
    const loaded = rssBytes(peer.pid);
    await fleet.stop();
    return {
      connections,
      acksPerSec: w.acked / w.seconds,
      ackP99Ms: w.p99,
      idleRssMb: idle / 2 ** 20,
      connectedRssMb: connected / 2 ** 20,
      loadedRssMb: loaded / 2 ** 20,
      rssPerConnectionKb: (connected - idle) / 1024 / connections,
      loadedRssPerConnectionKb: (loaded - idle) / 1024 / connections,
      cpuUsPerMessage: (cpu / w.acked) * 1e6,
    };
  } finally {
    await peer.stop();
  }
}

/** one line for `npm run bench -- --help` */
export const about =
  'the same closed-loop load at 1k, 5k and ~20k connections: acks/s, RSS per connection, CPU per message; draws docs/scale.svg';

export const options = {
  // Past ~19,900 a process runs out of file descriptors here (hard limit 20,000).
  connections: { type: 'string', default: '1000,5000,19800' },
  duration: { type: 'string', default: '15' },
  chart: { type: 'string', default: join(ROOT, 'docs', 'scale.svg') },
} satisfies ScenarioOptions;

export async function main(argv: string[]) {
  const { values } = parseArgs({ args: argv, options });
  const points: ScalePoint[] = [];
  for (const n of values.connections.split(',').map(Number)) {
    const p = await runScale(n, Number(values.duration));
    points.push(p);
    process.stderr.write(
      `  ${n} connections: ${p.acksPerSec.toFixed(0)} acks/s, RSS ${p.loadedRssMb.toFixed(0)} MB\n`,
    );
  }
  console.log(
    '| connections | acks/s | ack p99 (ms) | RSS idle / connected / loaded (MB) | RSS per connection, connected / loaded (KB) | gateway CPU per message (µs) |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const p of points) {
    console.log(
      `| ${p.connections} | ${p.acksPerSec.toFixed(0)} | ${p.ackP99Ms.toFixed(1)} | ${p.idleRssMb.toFixed(0)} / ${p.connectedRssMb.toFixed(0)} / ${p.loadedRssMb.toFixed(0)} | ${p.rssPerConnectionKb.toFixed(1)} / ${p.loadedRssPerConnectionKb.toFixed(1)} | ${p.cpuUsPerMessage.toFixed(1)} |`,
    );
  }
  writeFileSync(
    values.chart,
    lineChartSvg({
      title: 'Gateway at scale (closed loop, 2 QoS 1 messages in flight per connection)',
      xLabel: 'connections',
      yLabel: 'durable acks/s · RSS (MB × 100)',
      series: [
        {
          name: 'durable acks/s',
          color: '#1f77b4',
          points: points.map((p) => [p.connections, p.acksPerSec]),
        },
        {
          name: 'RSS loaded (MB × 100)',
          color: '#d62728',
          points: points.map((p) => [p.connections, p.loadedRssMb * 100]),
        },
      ],
    }),
  );
  console.log(`\nchart: ${values.chart}`);
}
