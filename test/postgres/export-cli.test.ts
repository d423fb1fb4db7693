// `npm run query -- export --db postgres://…` as a user runs it: the built
// CLI pages through PostgreSQL by key and writes every reading, as it does on
// SQLite (test/query/export-cli.test.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../simulators/run-cli.js';
import { openPostgresWriter } from '../../storage/postgres/postgres-writer.js';
import { makeBatch, type ReadingSpec } from '../storage/make-batch.js';
import { createTestSchema, type TestSchema } from './pg-schema.js';

const T0 = Date.UTC(2025, 0, 1, 10);
let schema: TestSchema;
let dir: string;
const stored: ReadingSpec[] = [];

beforeAll(async () => {
  schema = await createTestSchema();
  dir = await mkdtemp(join(tmpdir(), 'gw-pg-export-'));
  // 6,000 readings, ties of 8 series per timestamp: more than one 5,000-row page.
  for (let i = 0; i < 750; i++) {
    for (let d = 0; d < 8; d++)
      stored.push({ device: `pg_${d}`, metric: 'temp', ts: T0 + i * 1000, value: d + i });
  }
  const writer = await openPostgresWriter({ url: schema.url });
  await writer.write(makeBatch(stored));
  await writer.close();
});

afterAll(async () => {
  await schema.drop();
  await rm(dir, { recursive: true, force: true });
});

const key = (r: { device: string; metric: string; ts: number; value: number }) =>
  `${r.device}|${r.metric}|${r.ts}|${r.value}`;
const exportCli = (args: string[]) =>
  runCli('cli/query-cli.js', ['export', '--from', String(T0), ...args, '--db', schema.url]);

describe('export from PostgreSQL', () => {
  it('writes every reading as NDJSON, and as Parquet that hyparquet reads back', async () => {
    const ndjson = await exportCli(['--format', 'ndjson']);
    expect(ndjson.code, ndjson.stderr).toBe(0);
    const rows = ndjson.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as ReadingSpec);
    expect(rows.map(key).sort()).toEqual(stored.map(key).sort());

    const out = join(dir, 'pg.parquet');
    const parquet = await exportCli(['--format', 'parquet', '--out', out]);
    expect(parquet.code, parquet.stderr).toBe(0);
    const back = (await parquetReadObjects({ file: await asyncBufferFromFile(out) })) as Array<
      Record<string, unknown>
    >;
    expect(
      back
        .map((r) =>
          key({
            device: String(r.device),
            metric: String(r.metric),
            ts: Number(r.ts),
            value: r.value as number,
          }),
        )
        .sort(),
    ).toEqual(stored.map(key).sort());
  });

  it('filters by a device glob, where _ in an id is no wildcard', async () => {
    const run = await exportCli(['--device', 'pg_1*', '--format', 'csv']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trimEnd().split('\n')).toHaveLength(751);
  });

  it('fails in one line when the server cannot be reached', async () => {
    const run = await runCli('cli/query-cli.js', [
      'export',
      '--from',
      String(T0),
      '--format',
      'csv',
      '--db',
      'postgres://nobody@127.0.0.1:1/none',
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/GW_ERR_STORAGE_/);
  });
});
