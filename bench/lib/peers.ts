// The brokers a benchmark compares, each started and stopped by the bench
// itself on a free loopback port.

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startGatewayProcess } from '../../simulators/gateway-process.js';
import { ROOT, tempDir } from '../../simulators/run-cli.js';

export type PeerKind = 'gateway' | 'aedes' | 'mosquitto';

export interface Peer {
  kind: PeerKind;
  port: number;
  pid: number;
  /** the gateway's JSON log lines; empty for other peers */
  logs: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

export interface MosquittoSettings {
  /** per-session queue cap; 0 = none (what consumer-mode gateways need) */
  maxQueuedMessages?: number;
}

export async function startPeer(
  kind: PeerKind,
  gatewayArgs: readonly string[] = [],
  mosquitto: MosquittoSettings = {},
  /** node flags for a Node.js peer (profiling) */
  nodeArgs: readonly string[] = [],
  /** the gateway's main.js of another build (before/after comparisons) */
  gatewayScript?: string,
): Promise<Peer> {
  switch (kind) {
    case 'gateway': {
      const gw = await startGatewayProcess({
        args: ['--db', join(tempDir('gw-bench-'), 'gateway.db'), ...gatewayArgs],
        cwd: ROOT,
        nodeArgs,
        ...(gatewayScript === undefined ? {} : { script: gatewayScript }),
      });
      return {
        kind,
        port: gw.mqttPort,
        pid: gw.proc.pid!,
        logs: gw.logs,
        stop: async () => {
          await gw.stop('SIGTERM');
        },
      };
    }
    case 'aedes': {
      const proc = spawn(
        process.execPath,
        [...nodeArgs, join(ROOT, 'build', 'bench', 'peers', 'bare-aedes.js'), '0'],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      const [line] = (await once(createInterface({ input: proc.stdout! }), 'line')) as [string];
      const { port } = JSON.parse(line) as { port: number };
      return { kind, port, pid: proc.pid!, logs: [], stop: () => stopChild(proc) };
    }
    case 'mosquitto': {
      const port = await freePort();
      const dir = tempDir('mosquitto-bench-');
      const conf = join(dir, 'mosquitto.conf');
      // Route-only, like bare aedes: no persistence, anonymous on loopback.
      writeFileSync(
        conf,
        `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\nmax_queued_messages ${mosquitto.maxQueuedMessages ?? 1000}\n`,
      );
      const proc = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
      await waitForPort(port);
      return { kind, port, pid: proc.pid!, logs: [], stop: () => stopChild(proc) };
    }
  }
}

async function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGTERM');
  await once(proc, 'exit');
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

async function waitForPort(port: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}
