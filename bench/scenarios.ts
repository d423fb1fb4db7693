// The scenarios `npm run bench -- <name>` runs, one file each, loaded on demand.
import type { Scenario } from './lib/scenario.js';

export const SCENARIOS: Readonly<Record<string, () => Promise<Scenario>>> = {
  steady: () => import('./steady.js'),
  'batch-delay': () => import('./batch-delay.js'),
  saturate: () => import('./saturate.js'),
  storage: () => import('./storage.js'),
  'writer-cpu': () => import('./writer-cpu.js'),
  scale: () => import('./scale.js'),
  analytics: () => import('./analytics.js'),
  anomalies: () => import('./anomalies.js'),
  reconnect: () => import('./reconnect.js'),
  soak: () => import('./soak.js'),
  replay: () => import('./replay.js'),
  sketches: () => import('./sketches.js'),
  refresh: () => import('./refresh.js'),
  freshness: () => import('./freshness.js'),
  consumer: () => import('./consumer.js'),
  'adapter-decode': () => import('./adapter-decode.js'),
  forward: () => import('./forward.js'),
  promql: () => import('./promql.js'),
};
