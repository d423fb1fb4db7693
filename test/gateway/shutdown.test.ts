import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { defaults, type GatewayConfig } from '../../gateway/config.js';
import { startGateway } from '../../gateway/gateway.js';
import { connectLeanPublisher } from '../../simulators/lean-publisher.js';
import type { StorageWriter, WriteBatch } from '../../storage/port.js';
import { openSqliteReader } from '../../storage/sqlite/sqlite-reader.js';
import { openSqliteWriter } from '../../storage/sqlite/sqlite-writer.js';

/** The real SQLite writer, except that batches of readings wait until the test opens the gate. */
function gatedWriter(writer: StorageWriter) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let onHeld: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    onHeld = resolve;
  });
  const write = async (batch: WriteBatch) => {
    if (batch.readings.ts.length > 0) {
      onHeld();
      await gate;
    }
    return writer.write(batch);
  };
  // Everything else is the real writer's, whatever the port grows.
  const gated = new Proxy(writer, {
    get(target, prop) {
      if (prop === 'write') return write;
      const value: unknown = Reflect.get(target, prop);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { gated, held, open };
}

const refusedConnection = (port: number) =>
  new Promise<string>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });

describe('shutdown', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('stops accepting, refuses new publishes, commits and acks what it admitted, then closes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-shutdown-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const db = join(dir, 'gateway.db');
    const config: GatewayConfig = { ...defaults(), mqttPort: 0, httpPort: 0, db, logLevel: 'silent' };
    const writer = await openSqliteWriter({ path: db, synchronous: config.synchronous });
    cleanups.push(() => writer.close());
    const { gated, held, open } = gatedWriter(writer);
    const gateway = await startGateway({ config, logger: pino({ level: 'silent' }), writer: gated });
    cleanups.push(() => gateway.close());
    const mqttPort = gateway.mqtt.port;
    const readyz = () => fetch(`http://127.0.0.1:${gateway.http.port}/readyz`).then((r) => r.status);
    expect(await readyz()).toBe(200);

    const admitted = await connectLeanPublisher({ host: '127.0.0.1', port: mqttPort, clientId: 'admitted' });
    const late = await connectLeanPublisher({ host: '127.0.0.1', port: mqttPort, clientId: 'late' });
    const ack = admitted.publish('devices/admitted/telemetry', JSON.stringify({ temperature: 21.5 }), 1);
    await held;

    const closed = gateway.close();
    // Draining: HTTP still answers, not ready; no new connection; new publishes refused without an ack.
    expect(await readyz()).toBe(503);
    expect(await refusedConnection(mqttPort)).toBe('ECONNREFUSED');
    await expect(
      late.publish('devices/late/telemetry', JSON.stringify({ temperature: 1 }), 1),
    ).rejects.toMatchObject({ code: 'LEAN_CLOSED' });

    open();
    // The admitted message is acked once committed, before its connection is closed.
    await expect(ack).resolves.toBeTypeOf('number');
    await closed;
    await expect(readyz()).rejects.toThrow();

    const reader = openSqliteReader({ path: db });
    try {
      expect(await reader.countReadings({ deviceId: 'admitted' })).toBe(1);
      expect(await reader.countReadings({ deviceId: 'late' })).toBe(0);
    } finally {
      await reader.close();
    }
  });
});
