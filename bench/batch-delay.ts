// Scenario "batch-delay": the group-commit delay against ack latency and
// commit count, run interleaved (A B C A B C) so machine noise hits each
// setting alike; medians per setting.

import { parseArgs } from 'node:util';
import { median } from './lib/proc-stats.js';
import type { ScenarioOptions } from './lib/scenario.js';
import { runSteady, type SteadyResult } from './steady.js';

/** one line for `npm run bench -- --help` */
export const about =
  'the group-commit delay against ack latency and commit count, settings interleaved; medians';

export const options = {
  devices: { type: 'string', default: '5000' },
  rate: { type: 'string', default: '1' },
  duration: { type: 'string', default: '20' },
  delays: { type: 'string', default: '0,2,5,10,20' },
  repeats: { type: 'string', default: '2' },
} satisfies ScenarioOptions;

export async function main(argv: string[]) {
  const { values } = parseArgs({ args: argv, options });
  const delays = values.delays.split(',').map(Number);
  const byDelay = new Map<number, SteadyResult[]>(delays.map((d) => [d, []]));
  for (let rep = 0; rep < Number(values.repeats); rep++) {
    for (const d of delays) {
      const r = await runSteady({
        devices: Number(values.devices),
        rate: Number(values.rate),
        seconds: Number(values.duration),
        warmup: 5,
        batchMaxDelayMs: d,
      });
      byDelay.get(d)!.push(r);
      process.stderr.write(
        `  delay ${d} ms run ${rep + 1}: ack p50 ${r.ackP50Ms.toFixed(2)} p99 ${r.ackP99Ms.toFixed(2)} ms, cpu ${r.gatewayCpuPct.toFixed(1)} %\n`,
      );
    }
  }
  console.log(
    '| batch delay (ms) | ack p50 (ms) | ack p99 (ms) | event-loop p99 (ms) | gateway CPU (%) | runs |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const [d, runs] of byDelay) {
    const m = (f: (r: SteadyResult) => number) => median(runs.map(f)).toFixed(2);
    console.log(
      `| ${d} | ${m((r) => r.ackP50Ms)} | ${m((r) => r.ackP99Ms)} | ${m((r) => r.eventLoopP99MsMedian)} | ${m((r) => r.gatewayCpuPct)} | ${runs.length} |`,
    );
  }
}
