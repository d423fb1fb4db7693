import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { type GatewayProcess, spawnGateway } from '../../simulators/gateway-process.js';
import { runCli, tempDir } from '../../simulators/run-cli.js';

const exec = promisify(execFile);
const running: GatewayProcess[] = [];
afterEach(async () => {
  for (const g of running.splice(0)) if (g.proc.exitCode === null) await g.stop('SIGKILL');
});

async function start(args: string[]) {
  const g = await spawnGateway(args);
  running.push(g);
  return g;
}

describe('gateway as a user runs it', () => {
  it('stores what mosquitto_pub sends on both topic forms and the query CLI prints it', async () => {
    const db = join(tempDir(), 'gateway.db');
    const g = await start(['--db', db]);
    const port = String(g.mqttPort);
    await exec('mosquitto_pub', [
      '-p',
      port,
      '-q',
      '1',
      '-t',
      'devices/pi-kitchen/telemetry',
      '-m',
      '{"temperature": 21.5, "humidity": 40.2}',
    ]);
    await exec('mosquitto_pub', [
      '-p',
      port,
      '-q',
      '1',
      '-t',
      'devices/pi-kitchen/telemetry/pressure',
      '-m',
      '1013.25',
    ]);
    const anHourAgo = new Date(Date.now() - 3_600_000).toISOString();
    await exec('mosquitto_pub', [
      '-p',
      port,
      '-q',
      '1',
      '-t',
      'devices/pi-kitchen/telemetry',
      '-m',
      `{"ts": "${anHourAgo}", "values": {"temperature": 19}}`,
    ]);

    const out = await runCli('cli/query-cli.js', [
      'readings',
      '--device',
      'pi-kitchen',
      '--metric',
      'temperature',
      '--db',
      db,
      '--from',
      '-1d',
      '--format',
      'json',
    ]);
    expect(out.code).toBe(0);
    const rows = JSON.parse(out.stdout) as Array<{ ts: number | string; value: number }>;
    expect(rows.map((r) => r.value)).toEqual([19, 21.5]);

    const pressure = await runCli('cli/query-cli.js', [
      'readings',
      '--device',
      'pi-kitchen',
      '--metric',
      'pressure',
      '--db',
      db,
      '--format',
      'csv',
    ]);
    expect(pressure.code).toBe(0);
    expect(pressure.stdout).toContain('1013.25');

    expect(await g.stop('SIGTERM')).toBe(0);
    expect(g.logs.some((l) => l.msg === 'stopped')).toBe(true);
  });

  it('names a taken port in one line and exits 1', async () => {
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await runCli('gateway/main.js', [
        '--mqtt-port',
        String(port),
        '--http-port',
        '0',
        '--db',
        join(tempDir(), 'g.db'),
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('GW_ERR_PORT_IN_USE');
      expect(r.stderr).toContain(`port ${port}`);
    } finally {
      blocker.close();
    }
  });

  it('names an unusable database path in one line and exits 1', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'file.txt'), 'not a folder');
    const r = await runCli('gateway/main.js', [
      '--mqtt-port',
      '0',
      '--http-port',
      '0',
      '--db',
      join(dir, 'file.txt', 'g.db'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('GW_ERR_STORAGE_OPEN');
  });

  it('refuses a raw retention shorter than the oldest ts it accepts', async () => {
    const r = await runCli(
      'gateway/main.js',
      ['--mqtt-port', '0', '--http-port', '0', '--retention-raw', '1d'],
      {
        GATEWAY_DB: join(tempDir(), 'g.db'),
      },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('GW_ERR_CONFIG_INVALID');
  });

  it('rejects invalid configuration with the source named', async () => {
    const r = await runCli('gateway/main.js', ['--mqtt-port', 'abc'], {
      GATEWAY_DB: join(tempDir(), 'g.db'),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('GW_ERR_CONFIG_INVALID');
    expect(r.stderr).toContain('--mqtt-port');
  });
});
