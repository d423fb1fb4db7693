// `npm run devices` against a running gateway, the way an operator uses it:
// register, publish with mosquitto_pub, then revoke while a mosquitto_sub
// session is open and watch the gateway end it.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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

describe('npm run devices import and export', () => {
  const dir = tempDir('gw-import-');
  // A path whose folder does not exist yet: import creates both.
  const db = join(dir, 'fresh', 'gateway.db');
  const csv = join(dir, 'devices.csv');
  const out = join(dir, 'tokens.csv');
  const COUNT = 5000;

  it('imports 5000 devices in one go into a new database, tokens to a 0600 file', async () => {
    const lines = ['id,metrics,note'];
    for (let i = 0; i < COUNT; i++)
      lines.push(i === 0 ? 'bulk-0,temperature;humidity,"roof, north"' : `bulk-${i},,`);
    writeFileSync(csv, `${lines.join('\n')}\n`);
    const started = performance.now();
    const imported = await runCli(CLI, ['import', csv, '--tokens-out', out, '--db', db]);
    const elapsedMs = performance.now() - started;
    expect(imported.code).toBe(0);
    expect(elapsedMs).toBeLessThan(60_000);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const written = readFileSync(out, 'utf8').trimEnd().split('\n');
    expect(written[0]).toBe('id,token');
    expect(written).toHaveLength(COUNT + 1);
    expect(written[1]).toMatch(/^bulk-0,[A-Za-z0-9_-]{43}$/);

    const list = await runCli(CLI, ['list', '--format', 'json', '--db', db]);
    const rows = JSON.parse(list.stdout) as Array<{ device: string; metrics: string; note: string }>;
    expect(rows).toHaveLength(COUNT);
    expect(rows.find((r) => r.device === 'bulk-0')).toMatchObject({
      metrics: 'temperature,humidity',
      note: 'roof, north',
    });
  });

  it('refuses to overwrite the tokens file, and registers nothing then', async () => {
    writeFileSync(csv, 'id\nanother\n');
    const again = await runCli(CLI, ['import', csv, '--tokens-out', out, '--db', db]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('GW_ERR_FILE_EXISTS');
    const exported = await runCli(CLI, ['export', '--db', db]);
    expect(exported.stdout).not.toMatch(/^another,/m);
  });

  it('names the line of a bad row and imports nothing, leaving no tokens file', async () => {
    const badOut = join(dir, 'bad-tokens.csv');
    for (const [text, line] of [
      ['id\nok-1\nnot/valid\n', 3],
      ['id\nok-2\nok-2\n', 3],
      ['id\nok-3\nbulk-7\n', 3],
    ] as const) {
      writeFileSync(csv, text);
      const bad = await runCli(CLI, ['import', csv, '--tokens-out', badOut, '--db', db]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('GW_ERR_IMPORT_ROW');
      expect(bad.stderr).toContain(`line ${line}:`);
      expect(existsSync(badOut)).toBe(false);
    }
    const list = await runCli(CLI, ['list', '--format', 'json', '--db', db]);
    expect(JSON.parse(list.stdout)).toHaveLength(COUNT);
  });

  it('exports the registry as CSV an import reads, without a token', async () => {
    const exported = await runCli(CLI, ['export', '--db', db]);
    expect(exported.code).toBe(0);
    const lines = exported.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('id,metrics,note,status,created,rotated,revoked');
    expect(lines).toHaveLength(COUNT + 1);
    expect(lines.find((l) => l.startsWith('bulk-0,'))).toMatch(
      /^bulk-0,temperature;humidity,"roof, north",active,/,
    );
    const tokens = readFileSync(out, 'utf8')
      .split('\n')
      .slice(1, 50)
      .map((l) => l.split(',')[1]!);
    for (const token of tokens) expect(exported.stdout).not.toContain(token);
    const json = await runCli(CLI, ['export', '--format', 'json', '--db', db]);
    expect(JSON.parse(json.stdout)).toHaveLength(COUNT);
  });

  it('refuses a missing database for list, export, rotate and revoke, and creates none', async () => {
    const typo = join(dir, 'nowhere', 'gatewya.db');
    for (const args of [['list'], ['export'], ['rotate', 'x'], ['revoke', 'x']]) {
      const res = await runCli(CLI, [...args, '--db', typo]);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('GW_ERR_REGISTRY_MISSING');
    }
    expect(existsSync(typo)).toBe(false);
    expect(existsSync(join(dir, 'nowhere'))).toBe(false);
  });

  it('an imported device connects with its token', async () => {
    const gateway = await spawnGateway(['--db', db]);
    try {
      const [id, token] = readFileSync(out, 'utf8').split('\n')[2]!.split(',');
      const pub = spawn('mosquitto_pub', [
        ...['-h', '127.0.0.1', '-p', String(gateway.mqttPort), '-q', '1', '-i', id!],
        ...['-u', id!, '-P', token!, '-t', `devices/${id}/telemetry`, '-m', '{"t": 1}'],
      ]);
      const [code] = await once(pub, 'exit');
      expect(code).toBe(0);
    } finally {
      await gateway.stop();
    }
  });
});
