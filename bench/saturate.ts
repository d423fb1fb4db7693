// Scenario "saturate": 5000 connections, each keeping a window of QoS 1
// messages in flight; the sustained acks/s of the gateway (ack = committed)
// side by side with bare aedes and Mosquitto (ack = routed), run
// interleaved A B C A B C so machine noise hits each alike; medians.

import { parseArgs } from 'node:util';
import { SIM_FORMATS, type SimFormat } from '../simulators/payload-formats.js';
import { type PeerKind, startPeer } from './lib/peers.js';
import { cpuMeter, cpuSeconds, median, threadCpuSeconds } from './lib/proc-stats.js';
import { startProcessFleet } from './lib/process-fleet.js';
import type { ScenarioOptions } from './lib/scenario.js';

export interface SaturateRun {
  label: string;
  acksPerSec: number;
  readingsPerSec: number;
  ackP50Ms: number;
  ackP99Ms: number;
  brokerCpuPct: number;
  generatorCpuPct: number;
  /** acks over the broker's CPU seconds (all threads), from before the connections open to after the generator exits */
  acksPerCpuSecond: number;
  /**
   * CPU per ack inside the measured window only, in µs: the broker's main
   * thread and its other threads. Without the connections' own cost.
   */
  windowUsPerAck: { main: number; others: number };
  /**
   * The broker's CPU-seconds (all threads) per phase of the whole run:
   * connecting the fleet (no messages yet: every generator process starts
   * sending once all are connected), the warm-up, the window and closing the
   * connections. Where a whole-run ratio differs from the window's, this says
   * which phase made it.
   */
  phaseCpuSeconds: { connect: number; warmup: number; window: number; close: number };
}

interface Variant {
  label: string;
  kind: PeerKind;
  args: string[];
  format?: SimFormat;
  /** another build's gateway/main.js: a before/after comparison in one run */
  script?: string;
}

export async function runSaturate(
  variant: Variant,
  opts: {
    connections: number;
    seconds: number;
    warmup: number;
    generators: number;
    nodeArgs?: readonly string[];
  },
) {
  const peer = await startPeer(variant.kind, variant.args, {}, opts.nodeArgs, variant.script);
  try {
    // CPU per ack counts everything an ack cost the broker: accepting the
    // connections, the load, and closing them, whatever its threads did.
    const brokerCpuBefore = cpuSeconds(peer.pid);
    const fleet = await startProcessFleet({
      host: '127.0.0.1',
      port: peer.port,
      connections: opts.connections,
      window: 2,
      metricsPerMessage: 3,
      processes: opts.generators,
      ...(variant.format === undefined ? {} : { format: variant.format }),
    });
    const connected = cpuSeconds(peer.pid);
    fleet.start();
    await new Promise((r) => setTimeout(r, opts.warmup * 1000));
    await fleet.window();
    const warmedUp = cpuSeconds(peer.pid);
    const windowStart = performance.now();
    const generators = fleet.pids.map((pid) => cpuMeter(pid));
    const threadsBefore = threadCpuSeconds(peer.pid);
    for (const g of generators) g.start();
    await new Promise((r) => setTimeout(r, opts.seconds * 1000));
    const w = await fleet.window();
    const threadsAfter = threadCpuSeconds(peer.pid);
    const measured = cpuSeconds(peer.pid);
    const brokerCpuPct = ((measured - warmedUp) / ((performance.now() - windowStart) / 1000)) * 100;
    const generatorCpuPct = generators.reduce((sum, g) => sum + g.stop(), 0);
    const ackedInAll = await fleet.stop();
    const brokerCpuInAll = cpuSeconds(peer.pid) - brokerCpuBefore;
    const run: SaturateRun = {
      label: variant.label,
      acksPerSec: w.acked / w.seconds,
      readingsPerSec: (3 * w.acked) / w.seconds,
      ackP50Ms: w.p50,
      ackP99Ms: w.p99,
      brokerCpuPct,
      generatorCpuPct,
      acksPerCpuSecond: ackedInAll / Math.max(0.01, brokerCpuInAll),
      windowUsPerAck: {
        main: ((threadsAfter.main - threadsBefore.main) / Math.max(1, w.acked)) * 1e6,
        others: ((threadsAfter.others - threadsBefore.others) / Math.max(1, w.acked)) * 1e6,
      },
      phaseCpuSeconds: {
        connect: connected - brokerCpuBefore,
        warmup: warmedUp - connected,
        window: measured - warmedUp,
        close: brokerCpuBefore + brokerCpuInAll - measured,
      },
    };
    return run;
  } finally {
    await peer.stop();
  }
}

/**
 * "gateway", "aedes", "mosquitto", "gateway:flag=value,flag=value", or
 * "gateway@/path/to/build/gateway/main.js" (another build, for before/after).
 */
function parseVariant(text: string): Variant {
  const [peer, settings = ''] = text.split(':') as [string, string?];
  const [kind, script] = peer.split('@') as [PeerKind, string?];
  const args = settings
    .split(',')
    .filter((pair) => pair.includes('='))
    .flatMap((pair) => {
      const [key, value] = pair.split('=');
      return [`--${key}`, value ?? ''];
    });
  return { label: text, kind, args, ...(script === undefined ? {} : { script }) };
}

/** The gateway once per payload format, all generated per message (the json one too, for a fair ratio). */
function formatVariants(list: string): Variant[] {
  return list.split(',').map((name) => {
    if (!(SIM_FORMATS as readonly string[]).includes(name))
      throw new Error(`--formats: unknown format ${name} (${SIM_FORMATS.join(', ')})`);
    return { label: `gateway ${name}`, kind: 'gateway', args: [], format: name as SimFormat };
  });
}

/** one line for `npm run bench -- --help` */
export const about =
  'connections each keeping a window of QoS 1 messages in flight: sustained acks/s of the gateway beside bare aedes and Mosquitto';

export const options = {
  connections: { type: 'string', default: '5000' },
  duration: { type: 'string', default: '20' },
  warmup: { type: 'string', default: '5' },
  repeats: { type: 'string', default: '3' },
  peers: { type: 'string', default: 'gateway;aedes;mosquitto' },
  /** a comma list of payload formats (docs/sensors.md): the gateway alone, once per format, instead of --peers */
  formats: { type: 'string', default: '' },
  /** generator processes the connections are spread over */
  generators: { type: 'string', default: '2' },
  /** node flags for the broker processes (the gateway, bare aedes), e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" */
  'node-args': { type: 'string', default: '' },
  quick: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
} satisfies ScenarioOptions;

export async function main(argv: string[]) {
  const { values } = parseArgs({ args: argv, options });
  const variants =
    values.formats === '' ? values.peers.split(';').map(parseVariant) : formatVariants(values.formats);
  const opts = {
    connections: Number(values.connections),
    seconds: values.quick ? 8 : Number(values.duration),
    warmup: values.quick ? 3 : Number(values.warmup),
    generators: Number(values.generators),
    nodeArgs: values['node-args'].split(' ').filter((a) => a !== ''),
  };
  const repeats = values.quick ? 2 : Number(values.repeats);
  const runs = new Map<string, SaturateRun[]>(variants.map((v) => [v.label, []]));
  for (let rep = 0; rep < repeats; rep++) {
    for (const v of variants) {
      const r = await runSaturate(v, opts);
      runs.get(v.label)!.push(r);
      process.stderr.write(
        `  ${v.label} run ${rep + 1}: ${r.acksPerSec.toFixed(0)} acks/s, ${r.acksPerCpuSecond.toFixed(0)} acks per CPU-second, ack p99 ${r.ackP99Ms.toFixed(1)} ms, broker CPU ${r.brokerCpuPct.toFixed(0)} %, generator CPU ${r.generatorCpuPct.toFixed(0)} %, in the window ${r.windowUsPerAck.main.toFixed(1)} + ${r.windowUsPerAck.others.toFixed(1)} µs per ack (main + other threads); CPU-seconds connecting ${r.phaseCpuSeconds.connect.toFixed(2)}, warm-up ${r.phaseCpuSeconds.warmup.toFixed(2)}, window ${r.phaseCpuSeconds.window.toFixed(2)}, closing ${r.phaseCpuSeconds.close.toFixed(2)}\n`,
      );
    }
  }
  if (values.json) {
    console.log(JSON.stringify(Object.fromEntries(runs), null, 2));
    return;
  }
  console.log(formatSaturate(runs, opts.connections, opts.seconds, opts.generators));
}

export function formatSaturate(
  runs: Map<string, SaturateRun[]>,
  connections: number,
  seconds: number,
  generators = 1,
): string {
  const lines = [
    `saturate: ${connections} connections × 2 QoS 1 messages in flight, 3 metrics/msg, ${seconds} s per run, generator in ${generators} process(es)`,
    '',
    '| peer | acks/s median (min–max) | readings/s | acks per CPU-second | CPU per ack (µs) | ack p50 (ms) | ack p99 (ms) | broker CPU (%) | generator CPU (%) | runs |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  const perCpuMedians = new Map<string, number>();
  const medians = new Map<string, number>();
  for (const [label, rs] of runs) {
    const acks = rs.map((r) => r.acksPerSec);
    const m = (f: (r: SaturateRun) => number, d = 0) => median(rs.map(f)).toFixed(d);
    medians.set(label, median(acks));
    const perCpu = median(rs.map((r) => r.acksPerCpuSecond));
    perCpuMedians.set(label, perCpu);
    lines.push(
      `| ${label} | ${m((r) => r.acksPerSec)} (${Math.min(...acks).toFixed(0)}–${Math.max(...acks).toFixed(0)}) | ${m((r) => r.readingsPerSec)} | ${perCpu.toFixed(0)} | ${(1e6 / perCpu).toFixed(1)} | ${m((r) => r.ackP50Ms, 1)} | ${m((r) => r.ackP99Ms, 1)} | ${m((r) => r.brokerCpuPct)} | ${m((r) => r.generatorCpuPct)} | ${rs.length} |`,
    );
  }
  const json = medians.get('gateway json');
  if (json !== undefined) {
    // Acks per second of broker CPU: steadier than acks/s when other processes take the cores.
    const perCpu = (label: string) =>
      median(runs.get(label)!.map((r) => r.acksPerSec / Math.max(0.01, r.brokerCpuPct / 100)));
    const jsonPerCpu = perCpu('gateway json');
    lines.push('');
    for (const [label, value] of medians) {
      if (label === 'gateway json') continue;
      lines.push(
        `${label} / gateway json: acks/s ${(value / json).toFixed(2)}, acks per broker CPU-second ${(perCpu(label) / jsonPerCpu).toFixed(2)}`,
      );
    }
  }
  lines.push(
    '',
    'CPU per ack inside the measured window (connections and warm-up left out), µs, median (min–max):',
    '',
    '| peer | main thread | other threads | all |',
    '|---|---|---|---|',
  );
  for (const [label, rs] of runs) {
    const spread = (f: (r: SaturateRun) => number) => {
      const xs = rs.map(f);
      return `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
    };
    lines.push(
      `| ${label} | ${spread((r) => r.windowUsPerAck.main)} | ${spread((r) => r.windowUsPerAck.others)} | ${spread((r) => r.windowUsPerAck.main + r.windowUsPerAck.others)} |`,
    );
  }
  const gateway = medians.get('gateway');
  if (gateway !== undefined) {
    const inWindow = (l: string) =>
      median(runs.get(l)!.map((r) => r.windowUsPerAck.main + r.windowUsPerAck.others));
    lines.push('');
    for (const [label, value] of medians) {
      if (label === 'gateway') continue;
      const perCpu = perCpuMedians.get('gateway')! / perCpuMedians.get(label)!;
      lines.push(
        `gateway / ${label}: acks/s ${(gateway / value).toFixed(2)}, acks per CPU-second ${perCpu.toFixed(2)} (in the window alone ${(inWindow(label) / inWindow('gateway')).toFixed(2)})`,
      );
    }
  }
  return lines.join('\n');
}
