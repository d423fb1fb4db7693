import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { connectLeanPublisher } from '../../simulators/lean-publisher.js';
import { type InProcessGateway, startInProcessGateway } from '../support/in-process-gateway.js';

describe('storage failure', () => {
  let gw: InProcessGateway | undefined;
  afterAll(async () => gw?.close());

  it('sends no ack, closes the connection, logs the cause once, reports it on /healthz and stays up', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
        cb();
      },
    });
    // A database size cap is how SQLite says "disk full" on demand.
    gw = await startInProcessGateway({ maxDbBytes: 256 * 1024 }, pino({ level: 'info' }, sink));
    const port = gw.gateway.mqtt.port;
    const base = Date.now() - 60_000;
    const filler = JSON.stringify(
      Array.from({ length: 300 }, (_, i) => ({ ts: base + i, values: { a: i, b: i, c: i } })),
    );

    let acked = 0;
    let closedWithoutAck = 0;
    for (let round = 0; round < 40 && closedWithoutAck < 3; round++) {
      const client = await connectLeanPublisher({ host: '127.0.0.1', port, clientId: `filler-${round}` });
      try {
        // distinct device per round, so nothing is a duplicate
        await client.publish(`devices/filler-${round}/telemetry`, filler, 1);
        acked++;
        client.destroy();
      } catch (err) {
        expect(err).toMatchObject({ code: 'LEAN_CLOSED' });
        closedWithoutAck++;
      }
    }
    expect(acked).toBeGreaterThan(0);
    expect(closedWithoutAck).toBe(3);

    const health = await fetch(`http://127.0.0.1:${gw.gateway.http.port}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({
      status: 'failing',
      storage: { state: 'failing', lastErrorCode: 'GW_ERR_STORAGE_FULL' },
    });

    const failing = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('storage failing'));
    expect(failing).toHaveLength(1);
    expect(failing[0]).toMatchObject({ code: 'GW_ERR_STORAGE_FULL' });

    // Still serving: a new connection is accepted and the HTTP side answers.
    const probe = await connectLeanPublisher({ host: '127.0.0.1', port, clientId: 'probe' });
    const metrics = await fetch(`http://127.0.0.1:${gw.gateway.http.port}/metrics`);
    expect(metrics.status).toBe(200);
    // Only released acks count in the gateway's ack-hold histogram, not the refused ones.
    expect((await metrics.text()).match(/^gateway_ack_hold_seconds_count (\d+)$/m)?.[1]).toBe(String(acked));
    probe.destroy();
  });
});
