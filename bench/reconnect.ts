// Scenario "reconnect": a fleet of token devices, bulk-imported, connects to
// a gateway that requires authentication (--host 0.0.0.0), then again after
// the gateway is killed with SIGKILL and restarted: how long until every
// device has its CONNACK 0 and one QoS 1 reading acked. Measures what issue
// 13 asked for: token checks cheap enough that a cold reconnect of 5000
// devices takes seconds, not the minutes one scrypt per device cost.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { connectLeanPublisher, type LeanPublisher } from '../simulators/lean-publisher.js';
import { cpuSeconds } from './lib/proc-stats.js';
import type { ScenarioOptions } from './lib/scenario.js';

const BUILD = fileURLToPath(new URL('..', import.meta.url));

interface Credential {
  id: string;
  token: string;
}

interface Round {
  /** first CONNECT sent until the last device's reading was acked */
  seconds: number;
  connackP50Ms: number;
  connackP99Ms: number;
  refused: number;
  gatewayCpuSeconds: number;
}

/** one line for `npm run bench -- --help` */
export const about =
  'token devices reconnecting to a gateway that requires authentication, after a kill -9 and restart: time until all are connected and acked';

export const options = {
  devices: { type: 'string', default: '5000' },
  host: { type: 'string', default: '0.0.0.0' },
  /** CONNECTs in flight at once: a reconnecting fleet, not one thundering herd */
  concurrency: { type: 'string', default: '500' },
} satisfies ScenarioOptions;

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options });
  const devices = Number(values.devices);
  const concurrency = Number(values.concurrency);
  const dir = mkdtempSync(join(tmpdir(), 'gw-reconnect-'));
  const db = join(dir, 'gateway.db');
  const csv = join(dir, 'devices.csv');
  const out = join(dir, 'tokens.csv');
  writeFileSync(csv, `id\n${Array.from({ length: devices }, (_, i) => `dev-${i}\n`).join('')}`);

  const importStarted = performance.now();
  await promisify(execFile)(process.execPath, [
    join(BUILD, 'cli', 'devices-cli.js'),
    ...['import', csv, '--tokens-out', out, '--db', db],
  ]);
  const importSeconds = (performance.now() - importStarted) / 1000;
  const credentials: Credential[] = readFileSync(out, 'utf8')
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [id, token] = line.split(',');
      return { id: id!, token: token! };
    });

  const args = ['--db', db, '--host', values.host, '--max-connections', String(devices + 100)];
  let gateway = await startGateway([...args, '--mqtt-port', '0']);
  const port = gateway.mqttPort;
  const first = await connectFleet(gateway, port, credentials, concurrency);

  gateway.proc.kill('SIGKILL');
  await once(gateway.proc, 'exit');
  const restartStarted = performance.now();
  gateway = await startGateway([...args, '--mqtt-port', String(port)]);
  const restartSeconds = (performance.now() - restartStarted) / 1000;
  const second = await connectFleet(gateway, port, credentials, concurrency);
  gateway.proc.kill('SIGTERM');
  await once(gateway.proc, 'exit');

  const row = (name: string, r: Round) =>
    `| ${name} | ${r.seconds.toFixed(2)} s | ${r.connackP50Ms.toFixed(1)} / ${r.connackP99Ms.toFixed(1)} ms | ${r.refused} | ${r.gatewayCpuSeconds.toFixed(2)} s |`;
  process.stdout.write(
    [
      `${devices} token devices, --host ${values.host}, ${concurrency} CONNECTs in flight`,
      `import: ${importSeconds.toFixed(2)} s (CLI process included)`,
      `restart after kill -9 until ready: ${restartSeconds.toFixed(2)} s`,
      '',
      '| round | all connected and one QoS 1 acked | CONNACK p50 / p99 | refused | gateway CPU |',
      '| --- | --- | --- | --- | --- |',
      row('first start', first),
      row('after kill -9', second),
      '',
    ].join('\n'),
  );
}

interface Gateway {
  proc: ChildProcess;
  mqttPort: number;
}

/** The built gateway, on its own: resolves at its ready line. */
async function startGateway(args: readonly string[]): Promise<Gateway> {
  const proc = spawn(
    process.execPath,
    [join(BUILD, 'gateway', 'main.js'), '--http-port', '0', '--log-format', 'json', ...args],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: proc.stdout! });
  const exited = once(proc, 'exit').then(([code]) => {
    throw new Error(`the gateway exited with ${String(code)} before it was ready`);
  });
  const ready = new Promise<number>((resolve) => {
    lines.on('line', (line) => {
      if (!line.includes('"gateway ready"')) return;
      resolve((JSON.parse(line) as { mqttPort: number }).mqttPort);
    });
  });
  const mqttPort = await Promise.race([ready, exited]);
  // Keep reading its log, or a full pipe would stall it.
  return { proc, mqttPort };
}

async function connectFleet(
  gateway: Gateway,
  port: number,
  credentials: readonly Credential[],
  concurrency: number,
): Promise<Round> {
  const cpu0 = cpuSeconds(gateway.proc.pid!);
  const latencies: number[] = [];
  const clients: Array<{ id: string; client: LeanPublisher }> = [];
  let refused = 0;
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < credentials.length) {
      const { id, token } = credentials[next++]!;
      const sent = performance.now();
      try {
        const client = await connectLeanPublisher({
          host: '127.0.0.1',
          port,
          clientId: id,
          username: id,
          password: token,
        });
        latencies.push(performance.now() - sent);
        clients.push({ id, client });
      } catch {
        refused++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const ts = Date.now();
  await Promise.all(
    clients.map(({ id, client }) =>
      client.publish(`devices/${id}/telemetry`, JSON.stringify({ ts, values: { up: 1 } }), 1),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  const gatewayCpuSeconds = cpuSeconds(gateway.proc.pid!) - cpu0;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  // Leave them connected: the kill -9 that follows drops them all at once, as a crash would.
  return { seconds, connackP50Ms: at(0.5), connackP99Ms: at(0.99), refused, gatewayCpuSeconds };
}
