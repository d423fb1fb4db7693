#!/usr/bin/env node
// npm run bench -- <scenario> [options]. Benchmarks measure; tests check.

const scenarios: Record<string, () => Promise<{ main(argv: string[]): Promise<void> }>> = {
  steady: () => import('./steady.js'),
  'batch-delay': () => import('./batch-delay.js'),
  saturate: () => import('./saturate.js'),
  storage: () => import('./storage.js'),
  scale: () => import('./scale.js'),
  analytics: () => import('./analytics.js'),
  anomalies: () => import('./anomalies.js'),
  reconnect: () => import('./reconnect.js'),
  soak: () => import('./soak.js'),
  replay: () => import('./replay.js'),
  sketches: () => import('./sketches.js'),
};

const [name, ...rest] = process.argv.slice(2);
const load = name === undefined ? undefined : scenarios[name];
if (load === undefined) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(scenarios).join('|')}> [options]\n`);
  process.exit(2);
}
await (await load()).main(rest);
