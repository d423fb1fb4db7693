// Scenario "saturate": 5000 connections, each keeping a window of QoS 1
// messages in flight; reports the sustained durable acks/s (ack = committed)
// and readings/s. Settings to compare run interleaved, A B A B, medians.

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnGateway, tempDir } from '../test/support/spawn-gateway.js';
import { cpuMeter, median } from './lib/proc-stats.js';
import { startWindowFleet } from './lib/window-fleet.js';

export async function runSaturate(opts: {
  connections: number;
  seconds: number;
  warmup: number;
  gatewayArgs: string[];
}) {
  const gw = await spawnGateway(['--db', join(tempDir('gw-sat-'), 'gateway.db'), ...opts.gatewayArgs]);
  try {
    const fleet = await startWindowFleet({
      host: '127.0.0.1',
      port: gw.mqttPort,
      connections: opts.connections,
      window: 2,
      metricsPerMessage: 3,
    });
    await new Promise((r) => setTimeout(r, opts.warmup * 1000));
    fleet.window();
    const cpu = cpuMeter(gw.proc.pid!);
    cpu.start();
    await new Promise((r) => setTimeout(r, opts.seconds * 1000));
    const w = fleet.window();
    const gatewayCpuPct = cpu.stop();
    await fleet.stop();
    return {
      acksPerSec: w.acked / w.seconds,
      readingsPerSec: (3 * w.acked) / w.seconds,
      ackP50Ms: w.p50,
      ackP99Ms: w.p99,
      gatewayCpuPct,
    };
  } finally {
    await gw.stop('SIGTERM');
  }
}

export async function main(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      connections: { type: 'string', default: '5000' },
      duration: { type: 'string', default: '20' },
      repeats: { type: 'string', default: '2' },
      // gateway settings per variant as key=value pairs (flag names without --),
      // pairs joined by ",", variants by ";": "batch-max-delay-ms=0;batch-max-delay-ms=5"
      variants: { type: 'string', default: '' },
      quick: { type: 'boolean', default: false },
    },
  });
  const variants = values.variants.split(';').map((v) =>
    v
      .split(',')
      .filter((pair) => pair.includes('='))
      .flatMap((pair) => {
        const [key, value] = pair.trim().split('=');
        return [`--${key}`, value ?? ''];
      }),
  );
  const seconds = values.quick ? 10 : Number(values.duration);
  const repeats = values.quick ? 1 : Number(values.repeats);
  const results = variants.map(() => [] as Array<Awaited<ReturnType<typeof runSaturate>>>);
  for (let rep = 0; rep < repeats; rep++) {
    for (const [i, args] of variants.entries()) {
      const r = await runSaturate({
        connections: Number(values.connections),
        seconds,
        warmup: 5,
        gatewayArgs: args,
      });
      results[i]!.push(r);
      process.stderr.write(
        `  [${args.join(' ')}] run ${rep + 1}: ${r.acksPerSec.toFixed(0)} acks/s, p99 ${r.ackP99Ms.toFixed(1)} ms, cpu ${r.gatewayCpuPct.toFixed(0)} %\n`,
      );
    }
  }
  console.log(
    '| gateway flags | durable acks/s | readings/s | ack p50 (ms) | ack p99 (ms) | gateway CPU (%) | runs |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const [i, args] of variants.entries()) {
    const rs = results[i]!;
    const m = (f: (r: (typeof rs)[number]) => number, d = 0) => median(rs.map(f)).toFixed(d);
    console.log(
      `| ${args.join(' ') || '(defaults)'} | ${m((r) => r.acksPerSec)} | ${m((r) => r.readingsPerSec)} | ${m((r) => r.ackP50Ms, 1)} | ${m((r) => r.ackP99Ms, 1)} | ${m((r) => r.gatewayCpuPct)} | ${rs.length} |`,
    );
  }
}
