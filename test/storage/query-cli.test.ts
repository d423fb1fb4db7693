// Spawns the compiled CLI the way a user runs it (`npm test` builds first).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetter } from '../../storage/port.js';
import { openSqliteWriter } from '../../storage/sqlite/sqlite-writer.js';
import { makeBatch, series } from './make-batch.js';

const CLI = fileURLToPath(new URL('../../build/cli/query-cli.js', import.meta.url));
const T0 = Date.UTC(2025, 0, 1);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function query(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: opts.cwd ?? dir, env: { PATH: process.env.PATH ?? '', ...opts.env } },
      (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
      },
    );
  });
}

let dir: string;
let db: string;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npx tsc -p tsconfig.json first`);
  dir = await mkdtemp(join(tmpdir(), 'gw-query-cli-'));
  await mkdir(join(dir, 'data'));
  db = join(dir, 'data', 'gateway.db');
  const writer = await openSqliteWriter({ path: db });
  const deadLetter: DeadLetter = {
    receivedAt: T0 + 5,
    deviceId: 'dev-1',
    topic: 'devices/dev-1/telemetry',
    code: 'GW_ERR_PAYLOAD_NOT_JSON',
    rejections: [{ index: 0, code: 'GW_ERR_PAYLOAD_NOT_JSON' }],
    rejectedCount: 1,
    acceptedCount: 0,
    payload: new TextEncoder().encode('{"temp": 1, "x": "a"'),
    payloadBytes: 20,
  };
  await writer.write(
    makeBatch([...series('dev-1', 'temp', T0, 5), ...series('dev-2', 'temp', T0, 2)], {
      deadLetters: [deadLetter],
    }),
  );
  await writer.close();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('query CLI', () => {
  it('prints readings as an aligned table with ISO times (default db data/gateway.db)', async () => {
    const run = await query(['readings', '--device', 'dev-1', '--metric', 'temp']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout.split('\n')).toEqual([
      'ts                        value',
      '2025-01-01T00:00:00.000Z      0',
      '2025-01-01T00:00:01.000Z    0.5',
      '2025-01-01T00:00:02.000Z      1',
      '2025-01-01T00:00:03.000Z    1.5',
      '2025-01-01T00:00:04.000Z      2',
      '',
    ]);
  });

  it('prints readings as JSON with epoch ms, honouring --from, --to and --limit', async () => {
    const run = await query([
      'readings',
      '--device=dev-1',
      '--metric=temp',
      '--from=2025-01-01T00:00:01Z',
      `--to=${T0 + 4000}`,
      '--limit=2',
      '--format=json',
      `--db=${db}`,
    ]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([
      { ts: T0 + 1000, value: 0.5 },
      { ts: T0 + 2000, value: 1 },
    ]);
  });

  it('takes a relative time as a separate word (--from -15m)', async () => {
    const run = await query([
      'readings',
      '--device',
      'dev-2',
      '--metric',
      'temp',
      '--from',
      '-36500d',
      '--to',
      '+1d',
    ]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout.trimEnd().split('\n')).toHaveLength(3);
    const recent = await query(['readings', '--device', 'dev-2', '--metric', 'temp', '--from', '-15m']);
    expect(recent).toMatchObject({ code: 0, stdout: 'ts  value\n' });
  });

  it('prints readings as CSV, reading the database from GATEWAY_DB', async () => {
    const run = await query(['readings', '--device', 'dev-2', '--metric', 'temp', '--format', 'csv'], {
      cwd: tmpdir(),
      env: { GATEWAY_DB: db },
    });
    expect(run).toMatchObject({
      code: 0,
      stdout: 'ts,value\n2025-01-01T00:00:00.000Z,0\n2025-01-01T00:00:01.000Z,0.5\n',
    });
  });

  it('lists devices', async () => {
    const table = await query(['devices']);
    expect(table.stdout.split('\n').map((line) => line.split(/\s+/)[0])).toEqual([
      'device',
      'dev-1',
      'dev-2',
      '',
    ]);
    const json = await query(['devices', '--format', 'json']);
    expect(JSON.parse(json.stdout)).toEqual([
      { deviceId: 'dev-1', firstSeen: T0 + 4000, lastSeen: T0 + 4000 },
      { deviceId: 'dev-2', firstSeen: T0 + 1000, lastSeen: T0 + 1000 },
    ]);
  });

  it('lists dead letters with their payload in every format', async () => {
    const json = await query(['dead-letters', '--device', 'dev-1', '--format', 'json']);
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({
        deviceId: 'dev-1',
        code: 'GW_ERR_PAYLOAD_NOT_JSON',
        rejections: [{ index: 0, code: 'GW_ERR_PAYLOAD_NOT_JSON' }],
        payload: '{"temp": 1, "x": "a"',
        payloadBytes: 20,
      }),
    ]);
    const csv = await query(['dead-letters', '--format', 'csv']);
    expect(csv.stdout.split('\n')[0]).toBe(
      'id,received_at,device,topic,code,rejected,accepted,bytes,payload',
    );
    // Full text in CSV, quotes doubled; the table shows an escaped, shortened preview.
    expect(csv.stdout).toContain(',"{""temp"": 1, ""x"": ""a"""\n');
    const table = await query(['dead-letters']);
    expect(table.stdout).toMatch(/^id +received_at +device +topic +code/);
    expect(table.stdout).toContain('GW_ERR_PAYLOAD_NOT_JSON');
    expect(table.stdout).toContain('{\\"temp\\": 1');
    expect(await query(['dead-letters', '--device', 'dev-2', '--format', 'json'])).toMatchObject({
      stdout: '[]\n',
    });
  });

  it.each([
    [[]],
    [['bogus']],
    [['devices', 'extra']],
    [['devices', '--bogus']],
    [['devices', '--device', 'dev-1']],
    [['readings', '--device', 'dev-1']],
    [['readings', '--device', 'dev-1', '--metric', 'temp', '--from', 'yesterday']],
    [['readings', '--device', 'dev-1', '--metric', 'temp', '--limit', '0']],
    [['devices', '--format', 'xml']],
    [['series', '--metric', 'temp']],
    [['series', '--device', 'dev-1', '--metric', 'temp', '--bucket', '2m']],
    [['series', '--device', 'dev-1', '--metric', 'temp', '--agg', 'avg,median']],
    [['series', '--device', 'dev-1', '--metric', 'temp', '--from', '-3650d', '--bucket', '30s']],
    [['latest', '--device', 'dev-*']],
    [['anomalies', '--limit', 'many']],
  ])('exits 2 with one line on stderr for %j', async (args) => {
    const run = await query(args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('exits 1 with one line when the database does not exist', async () => {
    const run = await query(['devices', '--db', join(dir, 'missing.db')]);
    expect(run.code).toBe(1);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain(join(dir, 'missing.db'));
  });

  it('exits 1 with GW_ERR_QUERY_NOT_FOUND for latest of a device with nothing stored', async () => {
    const run = await query(['latest', '--device', 'nobody']);
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^query: GW_ERR_QUERY_NOT_FOUND /);
  });

  it('prints usage on --help', async () => {
    expect(await query(['--help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('readings') });
  });
});
