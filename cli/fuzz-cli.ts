#!/usr/bin/env node
// npm run fuzz -- [--minutes 30] [--seed 1] [--concurrency 16]
// Spawns the built gateway, fuzzes it, checks the canary's readings are
// stored, prints a JSON summary and exits 1 on any failure.

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runFuzz } from '../simulators/fuzz/fuzz-run.js';
import { spawnGateway } from '../simulators/gateway-process.js';
import { tempDir } from '../simulators/run-cli.js';
import { openSqliteReader } from '../storage/sqlite/sqlite-reader.js';

const USAGE = 'usage: npm run fuzz -- [--minutes <n>] [--seed <int>] [--concurrency <n>]\n';
let values: { minutes: string; seed: string; concurrency: string; help: boolean };
try {
  ({ values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '1' },
      seed: { type: 'string', default: String(Date.now() % 1_000_000) },
      concurrency: { type: 'string', default: '16' },
      help: { type: 'boolean', default: false },
    },
  }));
} catch (err) {
  // A mistyped option: one line and the usage, not a stack trace.
  process.stderr.write(`fuzz: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  process.exit(2);
}
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const minutes = Number(values.minutes);
const seed = Number(values.seed);
const concurrency = Number(values.concurrency);
if (!(minutes > 0) || !Number.isInteger(seed) || !(concurrency > 0)) {
  process.stderr.write(USAGE);
  process.exit(2);
}

const db = join(tempDir('gw-fuzz-'), 'gateway.db');
const gateway = await spawnGateway(['--db', db, '--connect-timeout-ms', '2000', '--log-level', 'info']);
let died = false;
gateway.exited.then(() => {
  died = true;
});
process.stderr.write(
  `fuzz: seed ${seed}, ${minutes} min, gateway pid ${gateway.proc.pid} on port ${gateway.mqttPort}\n`,
);
const result = await runFuzz({
  port: gateway.mqttPort,
  durationMs: minutes * 60_000,
  seed,
  concurrency,
  aborted: () => died,
});

// A gateway that crashes closes the canary's connection first: give its exit
// a moment to arrive, so the report names the crash, not its symptom.
if (result.failure !== undefined && !died) {
  await Promise.race([gateway.exited, new Promise((resolve) => setTimeout(resolve, 2000))]);
}
let failure = died
  ? `the gateway died: ${gateway.stderr().trim().split('\n').slice(-12).join('\n')}`
  : (result.failure ??
    (result.stuck.length > 0
      ? `${result.stuck.length} connections were never closed by the gateway`
      : undefined));
if (failure !== undefined) {
  // What the gateway said about the canary: why its connection went, if it knows.
  for (const line of gateway.logs.filter((l) => JSON.stringify(l).includes('fuzz-canary')).slice(-20)) {
    process.stderr.write(`gateway: ${JSON.stringify(line)}\n`);
  }
}
if (failure === undefined) {
  const reader = openSqliteReader({ path: db });
  const stored = new Set(
    (await reader.readings({ deviceId: 'fuzz-canary', metric: 'alive', limit: 10_000_000 })).map((r) => r.ts),
  );
  await reader.close();
  const missing = result.canary.ackedTs.filter((ts) => !stored.has(ts)).length;
  if (missing > 0) failure = `${missing} acknowledged canary readings are not stored`;
}
if (!died) await gateway.stop();
const { ackedTs: _acked, ...canary } = result.canary;
process.stdout.write(
  `${JSON.stringify({ seed, minutes, ...result, canary, ok: failure === undefined, ...(failure ? { failure } : {}) }, null, 2)}\n`,
);
process.exit(failure === undefined ? 0 : 1);
