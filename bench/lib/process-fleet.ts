// The closed-loop load of window-fleet.ts spread over several generator
// processes (fleet-child.ts), each with a share of the connections. Windows
// merge the children's counts and latency histograms.

import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import hdr from 'hdr-histogram-js';
import type { SimFormat } from '../../simulators/payload-formats.js';
import { ROOT } from '../../simulators/run-cli.js';

export interface FleetChildOptions {
  host: string;
  port: number;
  connections: number;
  window: number;
  metricsPerMessage: number;
  prefix: string;
  firstIndex: number;
  format?: SimFormat;
}

export type FleetRequest = { type: 'start' } | { type: 'window' } | { type: 'stop' };

export interface FleetWindow {
  acked: number;
  seconds: number;
  p50: number;
  p99: number;
  histogram: string;
}

export type FleetReply =
  | { type: 'ready' }
  | { type: 'error'; message: string }
  | { type: 'window'; window: FleetWindow }
  | { type: 'stopped'; ackedInAll: number };

const CHILD = join(ROOT, 'build', 'bench', 'lib', 'fleet-child.js');

function reply<T extends FleetReply['type']>(
  child: ChildProcess,
  type: T,
): Promise<Extract<FleetReply, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: FleetReply) => {
      if (message.type === 'error') {
        cleanup();
        reject(new Error(`generator process: ${message.message}`));
      } else if (message.type === type) {
        cleanup();
        resolve(message as Extract<FleetReply, { type: T }>);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`generator process exited (${code}) before '${type}'`));
    };
    const cleanup = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

export async function startProcessFleet(options: {
  host: string;
  port: number;
  connections: number;
  window: number;
  metricsPerMessage: number;
  processes: number;
  prefix?: string;
  format?: SimFormat;
}) {
  const processes = Math.max(1, Math.min(options.processes, options.connections));
  const children: ChildProcess[] = [];
  let firstIndex = 0;
  for (let k = 0; k < processes; k++) {
    const connections =
      Math.floor(options.connections / processes) + (k < options.connections % processes ? 1 : 0);
    const childOptions: FleetChildOptions = {
      host: options.host,
      port: options.port,
      connections,
      window: options.window,
      metricsPerMessage: options.metricsPerMessage,
      prefix: `${options.prefix ?? 'sat'}${k}`,
      firstIndex,
      ...(options.format === undefined ? {} : { format: options.format }),
    };
    firstIndex += connections;
    children.push(
      fork(CHILD, [JSON.stringify(childOptions)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
    );
  }
  try {
    await Promise.all(children.map((c) => reply(c, 'ready')));
  } catch (err) {
    for (const c of children) c.kill('SIGKILL');
    throw err;
  }
  return {
    pids: children.map((c) => c.pid!),
    /** Every process's connections are open: all start sending now. */
    start() {
      for (const c of children) c.send({ type: 'start' } satisfies FleetRequest);
    },
    async window() {
      const parts = await Promise.all(
        children.map((c) => {
          const answer = reply(c, 'window');
          c.send({ type: 'window' } satisfies FleetRequest);
          return answer;
        }),
      );
      const merged = hdr.build({
        useWebAssembly: false,
        lowestDiscernibleValue: 1,
        highestTrackableValue: 60_000_000,
      });
      for (const { window } of parts) merged.add(hdr.decodeFromCompressedBase64(window.histogram));
      return {
        acked: parts.reduce((sum, p) => sum + p.window.acked, 0),
        seconds: Math.max(...parts.map((p) => p.window.seconds)),
        p50: merged.getValueAtPercentile(50) / 1000,
        p99: merged.getValueAtPercentile(99) / 1000,
      };
    },
    /** Ends every connection and waits for the generator processes to exit; the acks counted since the start. */
    async stop(): Promise<number> {
      const totals = await Promise.all(
        children.map(async (c) => {
          const answer = reply(c, 'stopped');
          c.send({ type: 'stop' } satisfies FleetRequest);
          const { ackedInAll } = await answer;
          if (c.exitCode === null && c.signalCode === null) await once(c, 'exit');
          return ackedInAll;
        }),
      );
      return totals.reduce((a, b) => a + b, 0);
    },
  };
}
