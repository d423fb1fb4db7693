// Scenario "analytics": the steady load (5000 devices × 1 msg/s, QoS 1) with
// analytics off, on, and on with a query load, run interleaved. Reports the
// ack p99 and event-loop p99 of each, and the latency of the queries users
// run against a day of history while ingest goes on.

import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tempDir } from '../simulators/run-cli.js';
import { median } from './lib/proc-stats.js';
import type { ScenarioOptions } from './lib/scenario.js';
import { seedHistory } from './lib/seed-history.js';
import { runSteady, type SteadyResult } from './steady.js';

const QUERIES = {
  'one device, 24 h, 1 m buckets':
    'device=hist-00001&metric=temperature&from=-25h&bucket=1m&agg=count,min,max,avg,p95',
  'fleet, 24 h, 1 h buckets': 'device=hist-*&metric=temperature&from=-25h&bucket=1h&agg=count,avg,max,p95',
  'fleet, 7 d, 1 h buckets': 'device=hist-*&metric=temperature&from=-7d&bucket=1h&agg=count,avg,max,p95',
  'fleet, 24 h, 1 m buckets (heavy)':
    'device=hist-*&metric=temperature&from=-25h&bucket=1m&agg=count,avg,p95',
} as const;

type QueryName = keyof typeof QUERIES;

const QUERIES_CAPPED = 'analytics on + queries (query threads capped at 25 %, the default)';
const QUERIES_UNCAPPED = 'analytics on + queries, uncapped (--query-cpu-percent 100)';

/** Runs the queries one after another, in a loop, until stopped; latency per query. */
function queryLoad(httpPort: number) {
  const latencies = new Map<QueryName, number[]>(Object.keys(QUERIES).map((k) => [k as QueryName, []]));
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      for (const [name, query] of Object.entries(QUERIES) as Array<[QueryName, string]>) {
        const t0 = performance.now();
        const res = await fetch(`http://127.0.0.1:${httpPort}/api/series?${query}`);
        const body = (await res.json()) as { points?: unknown[] };
        if (res.status !== 200 || !Array.isArray(body.points) || body.points.length === 0) {
          throw new Error(`query ${name} answered ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
        }
        latencies.get(name)!.push(performance.now() - t0);
        if (stopped) break;
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return latencies;
    },
  };
}

/** one line for `npm run bench -- --help` */
export const about =
  'the steady load with analytics off, on, and on with a query load: ack and event-loop p99, and query latency over a day of history';

export const options = {
  devices: { type: 'string', default: '5000' },
  duration: { type: 'string', default: '60' },
  repeats: { type: 'string', default: '2' },
  'history-devices': { type: 'string', default: '500' },
  // a subset of off,on,capped,uncapped: more repeats of the ones compared
  variants: { type: 'string', default: 'off,on,capped,uncapped' },
} satisfies ScenarioOptions;

export async function main(argv: string[]) {
  const { values } = parseArgs({ args: argv, options });
  const seeded = join(tempDir('gw-history-'), 'seed.db');
  const t0 = performance.now();
  const seed = await seedHistory({
    path: seeded,
    devices: Number(values['history-devices']),
    hours: 24,
    readingsPerMinute: 6,
    prefix: 'hist-',
    olderHours: 6 * 24,
  });
  process.stderr.write(
    `  seeded ${seed.rows} rollup states (${values['history-devices']} devices: 24 h by the minute, 6 days before by the hour) in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`,
  );

  // The query loop runs with the default cap on the reader thread and
  // without it, side by side: the cap is what keeps ingest's cores free.
  const chosen = new Set(values.variants.split(','));
  const variants = [
    { key: 'off', label: 'analytics off', args: ['--analytics', 'off'], queries: false },
    { key: 'on', label: 'analytics on', args: [], queries: false },
    { key: 'capped', label: QUERIES_CAPPED, args: [], queries: true },
    { key: 'uncapped', label: QUERIES_UNCAPPED, args: ['--query-cpu-percent', '100'], queries: true },
  ].filter((v) => chosen.has(v.key));
  const results = new Map<string, Array<SteadyResult & { during?: unknown }>>(
    variants.map((v) => [v.label, []]),
  );
  for (let rep = 0; rep < Number(values.repeats); rep++) {
    for (const v of variants) {
      const db = join(tempDir('gw-analytics-'), 'gateway.db');
      copyFileSync(seeded, db);
      const r = await runSteady(
        {
          devices: Number(values.devices),
          rate: 1,
          seconds: Number(values.duration),
          warmup: 5,
          db,
          extraArgs: v.args,
        },
        v.queries ? { during: (gw) => queryLoad(gw.httpPort) } : {},
      );
      results.get(v.label)!.push(r);
      process.stderr.write(
        `  ${v.label} run ${rep + 1}: ack p99 ${r.ackP99Ms.toFixed(1)} ms, gateway ack hold p99 ${r.ackHoldP99MsMedian.toFixed(1)} ms, event-loop p99 ${r.eventLoopP99MsMedian.toFixed(1)} ms\n`,
      );
    }
  }
  console.log(
    `analytics: ${values.devices} devices × 1 msg/s, QoS 1, ${values.duration} s per run, database seeded with ${seed.rows} rollup states (24 h by the minute, 6 days before by the hour)\n`,
  );
  console.log(
    '| variant | ack p50 (ms) | ack p99 (ms) | gateway ack hold p99, median window (ms) | worst window (ms) | event-loop p99, median window (ms) | event-loop p99, worst window (ms) | gateway CPU (%) | RSS per connection (KB) | runs |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const [label, rs] of results) {
    const m = (f: (r: SteadyResult) => number) => median(rs.map(f)).toFixed(1);
    console.log(
      `| ${label} | ${m((r) => r.ackP50Ms)} | ${m((r) => r.ackP99Ms)} | ${m((r) => r.ackHoldP99MsMedian)} | ${m((r) => r.ackHoldP99MsMax)} | ${m((r) => r.eventLoopP99MsMedian)} | ${m((r) => r.eventLoopP99MsMax)} | ${m((r) => r.gatewayCpuPct)} | ${m((r) => r.rssPerConnectionKb)} | ${rs.length} |`,
    );
  }
  const ratio = (of: string, to: string, f: (r: SteadyResult) => number) => {
    const a = results.get(of);
    const b = results.get(to);
    return a === undefined || b === undefined ? 'n/a' : (median(a.map(f)) / median(b.map(f))).toFixed(2);
  };
  for (const [name, f] of [
    ['ack p99', (r: SteadyResult) => r.ackP99Ms],
    ['gateway ack hold p99', (r: SteadyResult) => r.ackHoldP99MsMedian],
  ] as const) {
    console.log(
      `\n${name}: on / off ${ratio('analytics on', 'analytics off', f)}; with queries (capped) / on ${ratio(QUERIES_CAPPED, 'analytics on', f)}; with queries (uncapped) / on ${ratio(QUERIES_UNCAPPED, 'analytics on', f)}`,
    );
  }
  console.log('\nper run, ack p99 / gateway ack hold p99 (ms):');
  for (const [label, rs] of results)
    console.log(
      `  ${label}: ${rs.map((r) => `${r.ackP99Ms.toFixed(1)} / ${r.ackHoldP99MsMedian.toFixed(1)}`).join(', ')}`,
    );
  for (const label of [QUERIES_CAPPED, QUERIES_UNCAPPED].filter((l) => results.has(l))) {
    console.log(`\n| query (HTTP /api/series, during ingest), ${label} | median (ms) | p95 (ms) | count |`);
    console.log('|---|---|---|---|');
    const all = new Map<string, number[]>();
    for (const r of results.get(label)!) {
      for (const [name, ls] of r.during as Map<string, number[]>)
        all.set(name, [...(all.get(name) ?? []), ...ls]);
    }
    for (const [name, ls] of all) {
      const sorted = [...ls].sort((a, b) => a - b);
      console.log(
        `| ${name} | ${median(ls).toFixed(1)} | ${(sorted[Math.floor(sorted.length * 0.95)] ?? Number.NaN).toFixed(1)} | ${ls.length} |`,
      );
    }
  }
}
