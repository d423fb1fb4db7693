// The SQLite writer thread dies while the process stays up (out of memory, a
// crashed native module): no write can ever commit again, so the gateway must
// not linger answering 503 while publishers reconnect into errors. It logs a
// fatal line with the cause, closes as on SIGTERM (nothing new is acked) and
// exits with code 1 for its supervisor to restart it.

import { once } from 'node:events';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, spawnGateway } from '../../simulators/gateway-process.js';
import { connectLeanPublisher } from '../../simulators/lean-publisher.js';
import { ROOT, tempDir } from '../../simulators/run-cli.js';

const PRELOAD = join(ROOT, 'build', 'test', 'gateway', 'support', 'writer-dies-on-readings.js');

describe('writer thread death', () => {
  let gateway: GatewayProcess | undefined;
  // Should the gateway fail to exit, the test times out; leave no process behind.
  afterAll(() => {
    if (gateway?.proc.exitCode === null && gateway.proc.signalCode === null) gateway.proc.kill('SIGKILL');
  });

  it('acks nothing, logs a fatal line naming the cause, closes and exits with code 1', async () => {
    const db = join(tempDir('gw-writer-death-'), 'gateway.db');
    gateway = await spawnGateway(['--db', db], {
      NODE_OPTIONS: `--import=${pathToFileURL(PRELOAD).href}`,
    });
    // 'close' comes after stdout has ended, so every log line has been read by then.
    const closed = once(gateway.proc, 'close');
    const client = await connectLeanPublisher({
      host: '127.0.0.1',
      port: gateway.mqttPort,
      clientId: 'doomed',
    });
    const reading = JSON.stringify({ ts: Date.now() - 1000, values: { t: 1 } });
    await expect(client.publish('devices/doomed/telemetry', reading, 1)).rejects.toMatchObject({
      code: 'LEAN_CLOSED',
    });
    client.destroy();

    expect(await gateway.exited).toBe(1);
    await closed;
    const fatal = gateway.logs.filter((l) => l.level === 60);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({
      code: 'GW_ERR_STORAGE_WRITE',
      cause: expect.stringContaining('exited with code 3'),
    });
    // the normal close ran to its end
    expect(gateway.logs.at(-1)).toMatchObject({ msg: 'stopped' });
  });
});
