// Scenario "consumer": what one consumer-mode gateway commits per second
// beside the embedded gateway's saturate, on the same machine and the same
// closed-loop fleet, interleaved A B C A B C; medians.
// - embedded: the fleet publishes to the gateway itself (ack = committed);
// - mosquitto: the fleet publishes to a fresh Mosquitto (max_queued_messages
//   0), one gateway consumes it through --ingest-sessions shared sessions;
// - rabbitmq: the fleet publishes MQTT to RabbitMQ's plugin (127.0.0.1:1885),
//   one gateway consumes a fresh quorum queue over AMQP.
// For the consumers the device's ack means "in the broker", so the figure
// compared is what the gateway committed (gateway_readings_stored_total),
// and how far the broker ran ahead of it is reported as backlog growth.

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from 'amqplib';
import { spawnGateway } from '../simulators/gateway-process.js';
import { tempDir } from '../simulators/run-cli.js';
import { startPeer } from './lib/peers.js';
import { cpuMeter, median } from './lib/proc-stats.js';
import type { ScenarioOptions } from './lib/scenario.js';
import { startWindowFleet } from './lib/window-fleet.js';
import { runSaturate } from './saturate.js';

const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
const RABBIT_MQTT_PORT = 1885;
const METRICS_PER_MESSAGE = 3;

type Variant = 'embedded' | 'mosquitto' | 'rabbitmq';

interface ConsumerRun {
  /** messages committed per second by the gateway */
  committedPerSec: number;
  /** messages the broker acked to the fleet per second */
  brokerAcksPerSec: number;
  gatewayCpuPct: number;
  brokerCpuPct: number;
}

interface RunOptions {
  connections: number;
  seconds: number;
  warmup: number;
  sessions: number;
  prefetch: number;
}

const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

async function storedReadings(httpPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const m = /^gateway_readings_stored_total(?:\{[^}]*\})? ([0-9.e+]+)$/m.exec(text);
  return m === null ? Number.NaN : Number(m[1]);
}

async function runEmbedded(opts: RunOptions): Promise<ConsumerRun> {
  // One generator process, as the consumer variants' in-process fleet.
  const r = await runSaturate({ label: 'embedded', kind: 'gateway', args: [] }, { ...opts, generators: 1 });
  return {
    committedPerSec: r.acksPerSec,
    brokerAcksPerSec: r.acksPerSec,
    gatewayCpuPct: r.brokerCpuPct,
    brokerCpuPct: Number.NaN,
  };
}

/** A broker for the fleet and the gateway's --ingest arguments. */
async function startBroker(kind: 'mosquitto' | 'rabbitmq', id: string, opts: RunOptions) {
  if (kind === 'mosquitto') {
    const peer = await startPeer('mosquitto', [], { maxQueuedMessages: 0 });
    const args = ['--ingest', `mqtt://127.0.0.1:${peer.port}`, '--share-group', `bench-${id}`];
    args.push('--ingest-client-id', `bench-${id}`, '--ingest-sessions', String(opts.sessions));
    return { port: peer.port, pid: peer.pid, args, stop: () => peer.stop() };
  }
  const queue = `bench-${id}`;
  const args = ['--ingest', AMQP_URL, '--ingest-queue', queue, '--ingest-prefetch', String(opts.prefetch)];
  const stop = async () => {
    const model = await connect(AMQP_URL);
    const channel = await model.createChannel();
    await channel.deleteQueue(queue);
    await model.close();
  };
  return { port: RABBIT_MQTT_PORT, pid: await rabbitPid(), args, stop };
}

async function rabbitPid(): Promise<number> {
  const { execFileSync } = await import('node:child_process');
  return Number(execFileSync('pidof', ['beam.smp']).toString().trim().split(' ')[0]);
}

async function runConsumer(kind: 'mosquitto' | 'rabbitmq', opts: RunOptions): Promise<ConsumerRun> {
  const id = randomBytes(4).toString('hex');
  const broker = await startBroker(kind, id, opts);
  const gw = await spawnGateway(['--db', join(tempDir('gw-bench-'), 'gateway.db'), ...broker.args]);
  try {
    const fleet = await startWindowFleet({
      host: '127.0.0.1',
      port: broker.port,
      connections: opts.connections,
      window: 2,
      metricsPerMessage: METRICS_PER_MESSAGE,
      prefix: `c${id}`,
    });
    await sleep(opts.warmup);
    fleet.window();
    const gatewayCpu = cpuMeter(gw.pid);
    const brokerCpu = cpuMeter(broker.pid);
    gatewayCpu.start();
    brokerCpu.start();
    const stored0 = await storedReadings(gw.httpPort);
    const t0 = performance.now();
    await sleep(opts.seconds);
    const stored1 = await storedReadings(gw.httpPort);
    const seconds = (performance.now() - t0) / 1000;
    const w = fleet.window();
    const run = {
      committedPerSec: (stored1 - stored0) / METRICS_PER_MESSAGE / seconds,
      brokerAcksPerSec: w.acked / w.seconds,
      gatewayCpuPct: gatewayCpu.stop(),
      brokerCpuPct: brokerCpu.stop(),
    };
    await fleet.stop();
    return run;
  } finally {
    await gw.stop('SIGTERM', 30_000);
    await broker.stop();
  }
}

/** one line for `npm run bench -- --help` */
export const about =
  'one consumer-mode gateway (Mosquitto $share sessions; RabbitMQ quorum queue) beside the embedded gateway: messages committed/s under the same closed-loop fleet';

export const options = {
  connections: { type: 'string', default: '200' },
  duration: { type: 'string', default: '20' },
  warmup: { type: 'string', default: '5' },
  repeats: { type: 'string', default: '3' },
  variants: { type: 'string', default: 'embedded;mosquitto;rabbitmq' },
  sessions: { type: 'string', default: '16' },
  prefetch: { type: 'string', default: '1000' },
  quick: { type: 'boolean', default: false },
} satisfies ScenarioOptions;

export async function main(argv: string[]) {
  const { values } = parseArgs({ args: argv, options });
  const variants = values.variants.split(';') as Variant[];
  const opts: RunOptions = {
    connections: Number(values.connections),
    seconds: values.quick ? 8 : Number(values.duration),
    warmup: values.quick ? 3 : Number(values.warmup),
    sessions: Number(values.sessions),
    prefetch: Number(values.prefetch),
  };
  const repeats = values.quick ? 2 : Number(values.repeats);
  const runs = new Map<Variant, ConsumerRun[]>(variants.map((v) => [v, []]));
  for (let rep = 0; rep < repeats; rep++) {
    for (const v of variants) {
      const r = v === 'embedded' ? await runEmbedded(opts) : await runConsumer(v, opts);
      runs.get(v)!.push(r);
      process.stderr.write(
        `  ${v} run ${rep + 1}: ${r.committedPerSec.toFixed(0)} msgs/s committed, broker acks ${r.brokerAcksPerSec.toFixed(0)}/s, gateway CPU ${r.gatewayCpuPct.toFixed(0)} %, broker CPU ${r.brokerCpuPct.toFixed(0)} %\n`,
      );
    }
  }
  console.log(formatConsumer(runs, opts));
}

function formatConsumer(runs: Map<Variant, ConsumerRun[]>, opts: RunOptions): string {
  const lines = [
    `consumer: ${opts.connections} connections × 2 QoS 1 messages in flight, ${METRICS_PER_MESSAGE} metrics/msg, ${opts.seconds} s per run; mosquitto: ${opts.sessions} sessions; rabbitmq: prefetch ${opts.prefetch}`,
    '',
    '| variant | committed msgs/s median (min–max) | readings/s | broker acks/s | backlog growth msgs/s | gateway CPU (%) | broker CPU (%) | runs |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const medians = new Map<Variant, number>();
  for (const [label, rs] of runs) {
    const c = rs.map((r) => r.committedPerSec);
    const m = (f: (r: ConsumerRun) => number) => median(rs.map(f));
    medians.set(
      label,
      m((r) => r.committedPerSec),
    );
    const growth = m((r) => r.brokerAcksPerSec - r.committedPerSec);
    lines.push(
      `| ${label} | ${m((r) => r.committedPerSec).toFixed(0)} (${Math.min(...c).toFixed(0)}–${Math.max(...c).toFixed(0)}) | ${(m((r) => r.committedPerSec) * METRICS_PER_MESSAGE).toFixed(0)} | ${m((r) => r.brokerAcksPerSec).toFixed(0)} | ${growth.toFixed(0)} | ${m((r) => r.gatewayCpuPct).toFixed(0)} | ${m((r) => r.brokerCpuPct).toFixed(0)} | ${rs.length} |`,
    );
  }
  const embedded = medians.get('embedded');
  if (embedded !== undefined) {
    lines.push('');
    for (const [label, value] of medians) {
      if (label !== 'embedded') lines.push(`${label} / embedded: ${(value / embedded).toFixed(2)}`);
    }
  }
  return lines.join('\n');
}
