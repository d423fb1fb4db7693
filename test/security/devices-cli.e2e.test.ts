// `npm run devices` against a running gateway, the way an operator uses it:
// register, publish with mosquitto_pub, then revoke while a mosquitto_sub
// session is open and watch the gateway end it.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, spawnGateway } from '../../simulators/gateway-process.js';
import { runCli, tempDir } from '../../simulators/run-cli.js';

const CLI = join('cli', 'devices-cli.js');

function tokenOf(stdout: string): string {
  const match = /^token: (\S+)$/m.exec(stdout);
  if (match === null) throw new Error(`no token in: ${stdout}`);
  return match[1]!;
}

describe('npm run devices with a running gateway', () => {
  let db: string;
  let gateway: GatewayProcess;

  beforeAll(async () => {
    db = join(tempDir('gw-cli-'), 'gateway.db');
    gateway = await spawnGateway(['--db', db, '--auth-recheck-ms', '100']);
  });
  afterAll(async () => {
    await gateway.stop();
  });

  it('adds a device whose token works with mosquitto_pub, lists it without the token', async () => {
    const added = await runCli(
      CLI,
      ['add', 'porch', '--metrics', 'temperature,humidity', '--note', 'front door'],
      {
        GATEWAY_DB: db,
      },
    );
    expect(added.code).toBe(0);
    const token = tokenOf(added.stdout);
    expect(Buffer.from(token, 'base64url').length).toBe(32);

    const pub = spawn('mosquitto_pub', [
      ...['-h', '127.0.0.1', '-p', String(gateway.mqttPort), '-q', '1', '-i', 'porch'],
      ...['-u', 'porch', '-P', token, '-t', 'devices/porch/telemetry', '-m', '{"temperature": 18.5}'],
    ]);
    const [pubCode] = await once(pub, 'exit');
    expect(pubCode).toBe(0);
    const rows = await runCli(join('cli', 'query-cli.js'), ['devices', '--format', 'json', '--db', db]);
    expect(rows.stdout).toContain('porch');

    const list = await runCli(CLI, ['list', '--format', 'json', '--db', db]);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({
        device: 'porch',
        status: 'active',
        metrics: 'temperature,humidity',
        note: 'front door',
      }),
    ]);
    expect(list.stdout).not.toContain(token);
    // Nor is it in anything the gateway logged.
    expect(JSON.stringify(gateway.logs)).not.toContain(token);
  });

  it('revoke ends an open session within the recheck period, and the token no longer connects', async () => {
    const added = await runCli(CLI, ['add', 'shed', '--db', db]);
    const token = tokenOf(added.stdout);
    // stdbuf: piped, mosquitto_sub's stdout is block-buffered and -d's lines would come only at exit.
    const sub = spawn('stdbuf', [
      '-oL',
      'mosquitto_sub',
      ...['-h', '127.0.0.1', '-p', String(gateway.mqttPort), '-i', 'shed', '-u', 'shed', '-P', token],
      ...['-t', 'alerts/shed', '-d'],
    ]);
    const exited = once(sub, 'exit');
    let stderr = '';
    sub.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    // -d prints the CONNACK it received.
    await new Promise<void>((resolve) => {
      createInterface({ input: sub.stdout }).on('line', (line) => {
        if (/received CONNACK \(0\)/.test(line)) resolve();
      });
    });
    const revoked = await runCli(CLI, ['revoke', 'shed', '--db', db]);
    expect(revoked.code).toBe(0);
    // mosquitto_sub reconnects after the gateway closes it, is refused, and gives up.
    const [code] = await exited;
    expect(code).not.toBe(0);
    expect(stderr.toLowerCase()).toMatch(/bad user name or password|not authori[sz]ed/);
    expect(gateway.logs.some((l) => l.msg === 'closing a session whose credential changed')).toBe(true);
  });

  it('exits 2 on usage errors and 1 on registry errors', async () => {
    expect((await runCli(CLI, ['add', '--db', db])).code).toBe(2);
    expect((await runCli(CLI, ['frobnicate', '--db', db])).code).toBe(2);
    const dup = await runCli(CLI, ['add', 'porch', '--db', db]);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('GW_ERR_DEVICE_EXISTS');
  });
});
