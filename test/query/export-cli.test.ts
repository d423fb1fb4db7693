// `npm run query -- export` as a user runs it (the built CLI, a child
// process) on a SQLite store: CSV, NDJSON and Parquet hold every reading, the
// Parquet file read back with an independent reader (hyparquet), and every
// refusal is one line and a non-zero exit.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../simulators/run-cli.js';
import { openSqliteWriter } from '../../storage/sqlite/sqlite-writer.js';
import { makeBatch, type ReadingSpec } from '../storage/make-batch.js';

const T0 = Date.UTC(2025, 0, 1, 10);
let dir: string;
let db: string;
const stored: ReadingSpec[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-export-cli-'));
  db = join(dir, 'gw.db');
  // 7,000 readings: more than one 5,000-row page, so the CLI pages by key.
  for (let i = 0; i < 700; i++) {
    for (let d = 0; d < 5; d++) {
      stored.push({ device: `exp-${d}`, metric: 'temp', ts: T0 + i * 1000, value: 20 + d + i / 8 });
      stored.push({ device: `exp-${d}`, metric: 'hum', ts: T0 + i * 1000, value: 40.25 + d });
    }
  }
  const writer = await openSqliteWriter({ path: db });
  await writer.write(makeBatch(stored));
  await writer.close();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const FROM = String(T0);
const TO = String(T0 + 3_600_000);
const exportCli = (args: string[]) => runCli('cli/query-cli.js', ['export', ...args, '--db', db]);
const key = (r: { device: string; metric: string; ts: number; value: number }) =>
  `${r.device}|${r.metric}|${r.ts}|${r.value}`;
const expectedKeys = () => stored.map(key).sort();

describe('npm run query -- export', () => {
  it('writes every reading as CSV on stdout, ts in ISO 8601, with the count on stderr', async () => {
    const run = await exportCli(['--from', FROM, '--to', TO, '--format', 'csv']);
    expect(run.code, run.stderr).toBe(0);
    const [header, ...lines] = run.stdout.trimEnd().split('\n');
    expect(header).toBe('device,metric,ts,value,unit');
    const rows = lines.map((line) => {
      const [device, metric, ts, value, unit] = line.split(',');
      expect(unit).toBe('');
      return { device: device!, metric: metric!, ts: Date.parse(ts!), value: Number(value) };
    });
    expect(rows.map(key).sort()).toEqual(expectedKeys());
    expect(run.stderr).toBe(`# exported ${stored.length} readings\n`);
  });

  it('writes NDJSON with ts as epoch ms, filtered by device glob and metric', async () => {
    const ok = await exportCli([
      '--device',
      'exp-?',
      '--metric',
      'hum',
      '--from',
      FROM,
      '--format',
      'ndjson',
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    const rows = ok.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { device: string; metric: string; ts: number; value: number });
    expect(rows[0]).toEqual({ device: 'exp-0', metric: 'hum', ts: T0, value: 40.25, unit: null });
    expect(rows.map(key).sort()).toEqual(
      stored
        .filter((r) => r.metric === 'hum')
        .map(key)
        .sort(),
    );
  });

  it('writes Parquet to --out that an independent reader (hyparquet) reads back whole', async () => {
    const out = join(dir, 'all.parquet');
    const run = await exportCli(['--from', FROM, '--to', TO, '--format', 'parquet', '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`# exported ${stored.length} readings to ${out}\n`);
    const file = await asyncBufferFromFile(out);
    const rows = (await parquetReadObjects({ file })) as Array<Record<string, unknown>>;
    expect(rows).toHaveLength(stored.length);
    expect(typeof rows[0]!.ts).toBe('bigint'); // INT64 epoch ms
    expect(rows[0]!.unit).toBeNull();
    const back = rows.map((r) => ({
      device: String(r.device),
      metric: String(r.metric),
      ts: Number(r.ts),
      value: r.value as number,
    }));
    expect(back.map(key).sort()).toEqual(expectedKeys());
    expect((await readFile(out)).subarray(0, 4).toString()).toBe('PAR1');
  });

  it.each([
    [['--from', FROM, '--format', 'parquet'], 2, '--out'],
    [['--from', FROM, '--format', 'xml'], 2, '--format'],
    [['--from', 'yesterday', '--format', 'csv'], 2, '--from'],
    [['--format', 'csv'], 2, '--from'],
    [['--from', FROM, '--format', 'csv', '--limit', '5'], 2, '--limit'],
    [['--from', FROM, '--format', 'csv', '--device', 'a/b'], 2, '--device'],
  ])('refuses %j in one line, exit %i', async (args, code, names) => {
    const run = await exportCli(args);
    expect(run.code).toBe(code);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain(names);
  });

  it('fails in one line without a database, and leaves no --out file behind', async () => {
    const out = join(dir, 'none.csv');
    const missing = await runCli('cli/query-cli.js', [
      'export',
      '--from',
      FROM,
      '--format',
      'csv',
      '--out',
      out,
      '--db',
      join(dir, 'nothing.db'),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
    const corrupt = join(dir, 'corrupt.db');
    await writeFile(corrupt, 'not a database'.repeat(100));
    const broken = await runCli('cli/query-cli.js', [
      'export',
      '--from',
      FROM,
      '--format',
      'ndjson',
      '--out',
      out,
      '--db',
      corrupt,
    ]);
    expect(broken.code).toBe(1);
    expect(broken.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(broken.stderr).toMatch(/GW_ERR_STORAGE_/);
    expect(existsSync(out)).toBe(false);
  });
});
