// Scenario "writer-cpu": the CPU the SQLite writer spends per message (three
// readings), measured in-process with no thread hop and no MQTT: the batch
// applier with its minute folds and stale marks, fed saturation-shaped
// batches (bench/lib/writer-cpu-child.ts). CPU time, not throughput: it does
// not depend on what else the machine runs as much as the saturate scenario
// does. With --builds, other builds' appliers run interleaved with this
// one's, for a before/after comparison in one run.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { ROOT } from '../simulators/run-cli.js';
import { median } from './lib/proc-stats.js';
import type { ScenarioOptions } from './lib/scenario.js';

const run = promisify(execFile);
const CHILD = join(ROOT, 'build', 'bench', 'lib', 'writer-cpu-child.js');

/** one line for `npm run bench -- --help` */
export const about =
  "the SQLite writer's CPU per 3-reading message, in-process, saturation-shaped batches; --builds compares builds";

export const options = {
  batches: { type: 'string', default: '1500' },
  /** sensor: each series moves a little between readings; uniform: anywhere in a band 1 wide */
  values: { type: 'string', default: 'sensor' },
  /** a comma list of other builds' directories (their build/), run interleaved with this one */
  builds: { type: 'string', default: '' },
  repeats: { type: 'string', default: '3' },
} satisfies ScenarioOptions;

export async function main(argv: string[]) {
  const { values } = parseArgs({ args: argv, options });
  if (values.values !== 'sensor' && values.values !== 'uniform')
    throw new Error(`--values: sensor or uniform, not ${values.values}`);
  const builds = [
    ...values.builds
      .split(',')
      .filter((b) => b !== '')
      .map((b) => ({ label: b, dir: b })),
    { label: 'this build', dir: join(ROOT, 'build') },
  ];
  const results = new Map<string, number[]>(builds.map((b) => [b.label, []]));
  for (let rep = 0; rep < Number(values.repeats); rep++) {
    for (const b of builds) {
      const { stdout } = await run(process.execPath, [CHILD, b.dir, values.batches, values.values]);
      const { usPerMessage } = JSON.parse(stdout) as { usPerMessage: number };
      results.get(b.label)!.push(usPerMessage);
      process.stderr.write(`  ${b.label} run ${rep + 1}: ${usPerMessage.toFixed(3)} µs per message\n`);
    }
  }
  console.log(
    `writer-cpu: ${values.batches} batches of 667 messages × 3 readings from 5000 devices, ${values.values} values\n`,
  );
  console.log('| build | CPU per message, median (min–max), µs | runs |');
  console.log('|---|---|---|');
  for (const [label, us] of results) {
    console.log(
      `| ${label} | ${median(us).toFixed(3)} (${Math.min(...us).toFixed(3)}–${Math.max(...us).toFixed(3)}) | ${us.length} |`,
    );
  }
  const own = median(results.get('this build')!);
  for (const [label, us] of results)
    if (label !== 'this build') console.log(`\nthis build / ${label}: ${(own / median(us)).toFixed(2)}`);
}
