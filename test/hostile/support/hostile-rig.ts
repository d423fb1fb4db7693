// A spawned gateway (process-level facts: alive, RSS) with a canary device
// on its own connection, for the hostile-input suite and the fuzzer.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { type GatewayProcess, spawnGateway } from '../../../simulators/gateway-process.js';
import { connectLeanPublisher, type LeanPublisher } from '../../../simulators/lean-publisher.js';
import { ROOT, tempDir } from '../../../simulators/run-cli.js';
import type { DeadLetterRow, StorageReader } from '../../../storage/port.js';
import { openSqliteReader } from '../../../storage/sqlite/sqlite-reader.js';

export interface Canary {
  /** Publishes one QoS 1 reading; resolves with the ack latency in ms. */
  probe(): Promise<number>;
  /** timestamps of every acknowledged reading */
  readonly acked: number[];
  /** Rejects unless every acknowledged reading is stored. */
  assertStored(reader: StorageReader): Promise<void>;
  close(): void;
}

export interface HostileRig {
  gateway: GatewayProcess;
  port: number;
  db: string;
  canary: Canary;
  alive(): boolean;
  rssKb(): number;
  /** RSS in kB right after a full GC in the gateway (support/gc-on-signal.ts) */
  collectedRssKb(): Promise<number>;
  /** a sample of gateway_* metric values by full series name, e.g. 'gateway_limit_events_total{code="X"}' */
  metric(series: string): Promise<number>;
  reader(): StorageReader;
  deadLetters(): Promise<DeadLetterRow[]>;
  close(): Promise<void>;
}

export async function startHostileRig(args: string[] = []): Promise<HostileRig> {
  const db = join(tempDir('gw-hostile-'), 'gateway.db');
  const gateway = await spawnGateway(['--db', db, ...args], {
    NODE_OPTIONS: `--import=${pathToFileURL(join(ROOT, 'build', 'test', 'hostile', 'support', 'gc-on-signal.js')).href}`,
  });
  const gcDone: Array<(rssKb: number) => void> = [];
  createInterface({ input: gateway.proc.stdout! }).on('line', (line) => {
    if (!line.includes('"gc done"')) return;
    const rssKb = (JSON.parse(line) as { rssKb: number }).rssKb;
    for (const resolve of gcDone.splice(0)) resolve(rssKb);
  });
  const port = gateway.mqttPort;
  const canary = await startCanary(port);
  const readers: StorageReader[] = [];
  return {
    gateway,
    port,
    db,
    canary,
    alive: () => gateway.proc.exitCode === null && gateway.proc.signalCode === null,
    rssKb: () => readRssKb(gateway.proc.pid!),
    collectedRssKb() {
      const done = new Promise<number>((resolve) => gcDone.push(resolve));
      gateway.proc.kill('SIGUSR2');
      return done;
    },
    async metric(series) {
      const res = await fetch(`http://127.0.0.1:${gateway.httpPort}/metrics`);
      const text = await res.text();
      for (const line of text.split('\n')) {
        if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
      }
      return 0;
    },
    reader() {
      const r = openSqliteReader({ path: db });
      readers.push(r);
      return r;
    },
    async deadLetters() {
      const r = openSqliteReader({ path: db });
      try {
        return await r.deadLetters({ limit: 100_000 });
      } finally {
        await r.close();
      }
    },
    async close() {
      canary.close();
      for (const r of readers) await r.close();
      if (gateway.proc.exitCode === null) await gateway.stop();
    },
  };
}

export async function startCanary(port: number, deviceId = 'canary'): Promise<Canary> {
  const client: LeanPublisher = await connectLeanPublisher({ host: '127.0.0.1', port, clientId: deviceId });
  const acked: number[] = [];
  // Distinct, recent timestamps: one per probe.
  const base = Date.now() - 60_000;
  let seq = 0;
  return {
    async probe() {
      const ts = base + seq++;
      const latency = await client.publish(
        `devices/${deviceId}/telemetry`,
        JSON.stringify({ ts, values: { alive: seq } }),
        1,
      );
      acked.push(ts);
      return latency;
    },
    acked,
    async assertStored(reader) {
      const rows = await reader.readings({ deviceId, metric: 'alive', limit: 1_000_000 });
      const stored = new Set(rows.map((r) => r.ts));
      const missing = acked.filter((ts) => !stored.has(ts));
      if (missing.length > 0) throw new Error(`canary: ${missing.length} acknowledged readings not stored`);
    },
    close() {
      client.destroy();
    },
  };
}

export function readRssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  if (m === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}
