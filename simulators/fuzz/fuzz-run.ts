// Runs the MQTT mutation fuzzer against a gateway for a fixed time: many
// short connections of mutated packets, bounded in concurrency, while a
// canary device publishes QoS 1 readings at a steady pace on its own
// connection. The run fails if the canary waits too long for an ack.

import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { connectLeanPublisher } from '../lean-publisher.js';
import { connectPacket, createRandom, MUTATIONS, mutate, seedCorpus } from './mutate.js';

export interface FuzzOptions {
  port: number;
  durationMs: number;
  seed: number;
  /** fuzzing connections open at once */
  concurrency?: number;
  /** the canary publishes this often */
  canaryIntervalMs?: number;
  /** an ack slower than this fails the run */
  maxAckMs?: number;
  /** stops early (e.g. the gateway died) */
  aborted?: () => boolean;
}

export interface FuzzResult {
  connections: number;
  packets: number;
  bytes: number;
  byMutation: Record<string, number>;
  canary: { sent: number; acked: number; p50Ms: number; p99Ms: number; maxMs: number; ackedTs: number[] };
  /** connections the gateway had not closed by the end of the run, as hex (each one a finding) */
  stuck: string[];
  /** why the run failed, if it did */
  failure?: string;
  /** on a failure: the fuzz connections open at that moment (connection number and data as hex), where the culprit is */
  suspects?: { n: number; data: string }[];
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzResult> {
  const { port, durationMs, seed, concurrency = 16, canaryIntervalMs = 20, maxAckMs = 2000 } = options;
  const rnd = createRandom(seed);
  const corpus = seedCorpus();
  const byMutation: Record<string, number> = {};
  const deadline = Date.now() + durationMs;
  let connections = 0;
  let packets = 0;
  let bytes = 0;
  let failure: string | undefined;
  let suspects: { n: number; data: string }[] | undefined;
  const open = new Map<Socket, { n: number; data: Buffer }>();
  const fail = (why: string) => {
    if (failure !== undefined) return;
    failure = why;
    suspects = [...open.values()].map(({ n, data }) => ({ n, data: data.toString('hex') }));
  };
  const stop = () => failure !== undefined || Date.now() >= deadline || options.aborted?.() === true;

  // The canary: one QoS 1 reading every canaryIntervalMs, distinct ts, on its own connection.
  const canaryClient = await connectLeanPublisher({ host: '127.0.0.1', port, clientId: 'fuzz-canary' });
  const latencies: number[] = [];
  const ackedTs: number[] = [];
  let sent = 0;
  let oldestPending: number | undefined;
  const base = Date.now() - 60_000;
  const canaryLoop = (async () => {
    const timer = setInterval(() => {
      if (oldestPending !== undefined && performance.now() - oldestPending > maxAckMs) {
        fail(`canary: no ack for ${maxAckMs} ms`);
        // ends the wait for that ack
        canaryClient.destroy();
      }
    }, 100);
    try {
      let next = performance.now();
      while (!stop()) {
        const ts = base + sent++;
        oldestPending = performance.now();
        const latency = await canaryClient.publish(
          'devices/fuzz-canary/telemetry',
          JSON.stringify({ ts, values: { alive: sent } }),
          1,
        );
        oldestPending = undefined;
        latencies.push(latency);
        ackedTs.push(ts);
        // pace the canary (a steady device, not a load generator)
        next += canaryIntervalMs;
        const wait = next - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    } catch (err) {
      fail(`canary: ${(err as Error).message}`);
    } finally {
      clearInterval(timer);
      canaryClient.destroy();
    }
  })();

  const oneConnection = async (n: number) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.on('error', () => {});
    socket.on('data', () => {});
    // Not events.once: it rejects on 'error', and a reset connection (which the
    // gateway may rightly do to garbage) would then end the whole run.
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    try {
      await once(socket, 'connect');
    } catch {
      return;
    }
    connections++;
    const out: Buffer[] = [];
    // mostly a valid CONNECT first, so the fuzz reaches the handlers behind it
    if (rnd.next() < 0.8) out.push(connectPacket(`fuzz-${seed}-${n}`, rnd.next() < 0.2));
    for (let k = 1 + rnd.int(8); k > 0; k--) {
      const kind = MUTATIONS[rnd.int(MUTATIONS.length)]!;
      byMutation[kind] = (byMutation[kind] ?? 0) + 1;
      out.push(mutate(rnd, corpus, kind));
    }
    packets += out.length;
    const data = Buffer.concat(out);
    bytes += data.length;
    // half-close: the gateway sees EOF (or closes first) and ends the connection
    open.set(socket, { n, data });
    socket.end(data);
    await closed;
    open.delete(socket);
  };

  let n = 0;
  const lanes = Array.from({ length: concurrency }, async () => {
    while (!stop()) await oneConnection(n++);
  });
  // A lane waits for the gateway to close its connection; at the deadline,
  // whatever is still open was never closed by it: record and end those.
  const stuck: string[] = [];
  const ended = new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (!stop()) return;
      clearInterval(check);
      const grace = setTimeout(() => {
        for (const [socket, { data }] of open) {
          stuck.push(data.toString('hex'));
          socket.destroy();
        }
        resolve();
      }, maxAckMs);
      Promise.all(lanes).then(() => {
        clearTimeout(grace);
        resolve();
      });
    }, 100);
  });
  await ended;
  await Promise.all(lanes);
  await canaryLoop;

  const sorted = [...latencies].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  const result: FuzzResult = {
    connections,
    packets,
    bytes,
    byMutation,
    stuck,
    canary: {
      sent,
      acked: latencies.length,
      p50Ms: q(0.5),
      p99Ms: q(0.99),
      maxMs: sorted.at(-1) ?? 0,
      ackedTs,
    },
  };
  if (failure !== undefined) result.failure = failure;
  if (suspects !== undefined) result.suspects = suspects;
  return result;
}
