// The end-to-end test (docs/edge.md): an edge gateway forwards to a
// central gateway of ours; the central is killed with kill -9 for seconds
// while devices keep publishing to the edge, restarts; the edge is killed
// with kill -9 mid-forwarding and restarts. Every reading the edge acked
// must end up in the central database, exactly once.

import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type GatewayProcess, spawnGateway } from '../../simulators/gateway-process.js';
import { runCli, tempDir } from '../../simulators/run-cli.js';
import { forwardState, storedReadings, until } from '../support/forward-helpers.js';
import { METRICS, startAckedLoad } from '../support/load.js';

const running: GatewayProcess[] = [];
afterEach(async () => {
  for (const g of running.splice(0))
    if (g.proc.exitCode === null && g.proc.signalCode === null) await g.stop('SIGKILL');
});

async function start(args: string[]): Promise<GatewayProcess> {
  const g = await spawnGateway(args);
  running.push(g);
  return g;
}

/** How long the central stays down: the outage itself, not a wait for something. */
const OUTAGE_MS = 3_000;

describe('store and forward', () => {
  it('survives kill -9 of the central and of the edge: every acked reading upstream exactly once', async () => {
    const dir = tempDir();
    const centralDb = join(dir, 'central.db');
    const edgeDb = join(dir, 'edge.db');
    let central = await start(['--db', centralDb]);
    const centralPort = central.mqttPort;
    const edgeArgs = ['--db', edgeDb, '--forward', `mqtt://127.0.0.1:${centralPort}`];
    let edge = await start(edgeArgs);
    const load = await startAckedLoad({ port: edge.mqttPort, devices: 20, prefix: 'fwd' });
    await until(
      () => forwardState(edge.httpPort),
      (s) => s.forwardedReadings > 300,
      'first readings upstream',
    );

    // 1. The central dies; the edge keeps acking, and its backlog grows.
    central.proc.kill('SIGKILL');
    await central.exited;
    const ackedBefore = load.acked.size;
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    await load.whenAcked(ackedBefore + 1000);
    const down = await forwardState(edge.httpPort);
    expect(down.connected).toBe(false);
    expect(down.backlogReadings).toBeGreaterThan(3000);
    // The backlog shows where operators look: /metrics and /healthz (which stays 200).
    const metrics = await (await fetch(`http://127.0.0.1:${edge.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/^gateway_forward_backlog_readings [1-9]\d*$/m);
    expect(metrics).toMatch(/^gateway_forward_connected 0$/m);
    const health = await fetch(`http://127.0.0.1:${edge.httpPort}/healthz`);
    expect(health.status).toBe(200);
    expect(
      ((await health.json()) as { forward: { backlogReadings: number } }).forward.backlogReadings,
    ).toBeGreaterThan(0);

    // 2. It restarts on the same port; the edge resumes on its own.
    central = await start(['--db', centralDb, '--mqtt-port', String(centralPort)]);
    const resumed = await until(
      () => forwardState(edge.httpPort),
      (s) => s.connected && s.forwardedReadings > down.forwardedReadings,
      'forwarding to resume',
    );

    // 3. The edge dies mid-forwarding: devices still publishing, messages in flight.
    edge.proc.kill('SIGKILL');
    await edge.exited;
    load.stop();
    await load.finished;
    expect(resumed.forwardedReadings).toBeGreaterThan(down.forwardedReadings);

    // 4. It restarts on the same database and drains what it still owes.
    edge = await start(edgeArgs);
    await until(
      () => forwardState(edge.httpPort),
      (s) => s.connected && s.backlogReadings === 0,
      'the backlog to drain',
    );
    expect(await edge.stop('SIGTERM')).toBe(0);
    expect(await central.stop('SIGTERM')).toBe(0);
    const cli = await runCli('cli/query-cli.js', ['forward-status', '--db', edgeDb, '--format', 'json']);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toEqual([
      expect.objectContaining({ backlogReadings: 0, droppedReadings: 0 }),
    ]);

    // Every reading the edge acked is upstream...
    const upstream = storedReadings(centralDb, 'fwd-');
    const upstreamKeys = new Set(upstream.map((r) => r.split('|').slice(0, 3).join('|')));
    let missing = 0;
    for (const key of load.acked) {
      const [deviceId, ts] = key.split('|');
      for (const metric of METRICS) if (!upstreamKeys.has(`${deviceId}|${metric}|${ts}`)) missing++;
    }
    expect(load.acked.size).toBeGreaterThan(2000);
    expect(missing).toBe(0);
    // ...and upstream holds exactly what the edge stored, values included, once each
    // (the key (device, metric, ts) absorbed the resends).
    expect(upstream).toEqual(storedReadings(edgeDb, 'fwd-'));
  }, 60_000);
});
