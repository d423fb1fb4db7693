// The query CLI's commands against the in-memory query service (the built CLI
// against a real database is covered in test/storage/query-cli.test.ts and
// test/query/cli-http-agreement.test.ts).
import { describe, expect, it } from 'vitest';
import { type QueryCliIo, runQueryCli } from '../../cli/query-commands.js';
import { GatewayError } from '../../core/errors.js';
import type { QueryService } from '../../storage/query-port.js';
import { createFakeQueryService, type FakeQueryService } from './fake-query-service.js';

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
const T = NOW - 30 * 60_000; // 11:30

function fake(): FakeQueryService {
  const q = createFakeQueryService();
  for (let i = 0; i < 6; i++) {
    q.add({ deviceId: 'pi-1', metric: 'temp', ts: T + i * 20_000, value: 20 + i });
    q.add({ deviceId: 'pi-2', metric: 'temp', ts: T + i * 20_000 + 1, value: 10 });
  }
  q.add({ deviceId: 'pi-1', metric: 'hum', ts: T + 5, value: 41.5 });
  q.addAnomaly(
    {
      deviceId: 'pi-1',
      metric: 'temp',
      ts: T + 60_000,
      value: 99,
      score: 8.5,
      expectedLow: 18,
      expectedHigh: 26,
      state: 'raised',
    },
    {
      deviceId: 'pi-2',
      metric: 'temp',
      ts: T - 2 * 86_400_000,
      value: 0,
      score: 5,
      expectedLow: 9,
      expectedHigh: 11,
      state: 'cleared',
    },
  );
  return q;
}

async function run(
  args: string[],
  query: QueryService | (() => Promise<QueryService>) = fake(),
  env: Record<string, string> = {},
) {
  let stdout = '';
  let stderr = '';
  let opened = 0;
  const cpuShares: number[] = [];
  const io: QueryCliIo = {
    env,
    now: () => NOW,
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    exists: () => true,
    openReader: () => {
      throw new Error('these commands must not open the plain reader');
    },
    openQuery: (_path, cpuShare) => {
      opened++;
      cpuShares.push(cpuShare);
      return typeof query === 'function' ? query() : Promise.resolve(query);
    },
  };
  const code = await runQueryCli(args, io);
  return { code, stdout, stderr, opened, cpuShares };
}

describe('query CLI CPU cap', () => {
  it('caps the query thread at 25 % of a core unless GATEWAY_QUERY_CPU_PERCENT says otherwise', async () => {
    const latest = ['latest', '--device', 'pi-1'];
    expect((await run(latest)).cpuShares).toEqual([0.25]);
    expect((await run(latest, fake(), { GATEWAY_QUERY_CPU_PERCENT: '100' })).cpuShares).toEqual([1]);
  });

  it('refuses a share outside 1..100 as a usage error, before opening anything', async () => {
    for (const bad of ['0', '101', '2.5', 'half']) {
      const r = await run(['latest', '--device', 'pi-1'], fake(), { GATEWAY_QUERY_CPU_PERCENT: bad });
      expect(r.code).toBe(2);
      expect(r.opened).toBe(0);
      expect(r.stderr).toContain('GATEWAY_QUERY_CPU_PERCENT');
    }
  });
});

describe('query CLI series', () => {
  it('prints the tier line, then an aligned table with one column per aggregate', async () => {
    const r = await run([
      'series',
      '--device',
      'pi-1',
      '--metric',
      'temp',
      '--from',
      '-30m',
      '--agg',
      'count,avg,max',
    ]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.split('\n')).toEqual([
      '# pi-1 temp: 2 buckets of 1m from tier 1m, 1 device',
      'bucket_start              count  avg  max',
      '2025-06-01T11:30:00.000Z      3   21   22',
      '2025-06-01T11:31:00.000Z      3   24   25',
      '',
    ]);
  });

  it('prints the shared JSON document with --format json, aggregating a glob fleet-wide', async () => {
    const q = fake();
    const r = await run(
      [
        'series',
        '--device=pi-*',
        '--metric=temp',
        `--from=${T}`,
        '--to=now',
        '--bucket=5m',
        '--agg=min,p95,last',
        '--format=json',
      ],
      q,
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      device: 'pi-*',
      metric: 'temp',
      from: T,
      to: NOW,
      bucket: '5m',
      bucketMs: 300_000,
      aggs: ['min', 'p95', 'last'],
      tier: '1m',
      devices: 2,
      points: [{ bucketStart: T, values: { min: 10, p95: 25, last: 10 } }],
    });
    expect(q.calls.map((c) => c.method)).toEqual(['series', 'close']);
  });

  it('keeps csv clean and says the tier on stderr', async () => {
    const r = await run([
      'series',
      '--device',
      'pi-2',
      '--metric',
      'temp',
      '--from',
      '-30m',
      '--bucket',
      '30s',
      '--agg',
      'avg',
      '--format',
      'csv',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('bucket_start,avg');
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(5);
    expect(r.stderr).toBe('# pi-2 temp: 4 buckets of 30s from tier raw, 1 device\n');
  });

  it('says "1 bucket", not "1 buckets"', async () => {
    const r = await run([
      'series',
      '--device',
      'pi-*',
      '--metric',
      'temp',
      '--from',
      '-30m',
      '--bucket',
      '1h',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('# pi-* temp: 1 bucket of 1h from tier 1h, 2 devices');
  });

  it.each([
    [['series', '--metric', 'temp']],
    [['series', '--device', 'pi-1', '--metric', 'temp', '--bucket', '2m']],
    [['series', '--device', 'pi-1', '--metric', 'temp', '--agg', 'median']],
    [['series', '--device', 'pi-1', '--metric', 'temp', '--from', '-400d', '--bucket', '30s']],
    [['series', '--device', 'pi-1', '--metric', 'temp', '--limit', '5']],
    [['latest']],
    [['latest', '--device', 'pi-*']],
    [['anomalies', '--limit', '0']],
    [['anomalies', '--metric', 'temp']],
  ])('exits 2 with one line on stderr, before opening the database, for %j', async (args) => {
    const r = await run(args);
    expect(r).toMatchObject({ code: 2, stdout: '', opened: 0 });
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('exits 1 with the code when the query service fails or is missing', async () => {
    const q = fake();
    q.failNext(new GatewayError('GW_ERR_STORAGE_BUSY'));
    const busy = await run(['series', '--device', 'pi-1', '--metric', 'temp'], q);
    expect(busy).toMatchObject({ code: 1, stdout: '' });
    expect(busy.stderr).toMatch(/^query: GW_ERR_STORAGE_BUSY /);
    expect(q.closed).toBe(true);
    const missing = await run(['latest', '--device', 'pi-1'], () =>
      Promise.reject(new GatewayError('GW_ERR_QUERY_UNAVAILABLE')),
    );
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toMatch(/^query: GW_ERR_QUERY_UNAVAILABLE /);
  });
});

describe('query CLI latest and anomalies', () => {
  it('lists the newest reading per metric', async () => {
    const r = await run(['latest', '--device', 'pi-1', '--format', 'json']);
    expect(JSON.parse(r.stdout)).toEqual([
      { metric: 'hum', ts: T + 5, value: 41.5 },
      { metric: 'temp', ts: T + 100_000, value: 25 },
    ]);
    const table = await run(['latest', '--device', 'pi-1']);
    expect(table.stdout.split('\n')[0]).toMatch(/^metric +ts +value$/);
  });

  it('fails with GW_ERR_QUERY_NOT_FOUND for a device with nothing stored, as the HTTP API does', async () => {
    for (const format of ['table', 'json', 'csv']) {
      const r = await run(['latest', '--device', 'pi-9', '--format', format]);
      expect(r).toMatchObject({ code: 1, stdout: '' });
      expect(r.stderr).toMatch(/^query: GW_ERR_QUERY_NOT_FOUND /);
    }
  });

  it('lists anomalies newest first within the range, filtered by a glob', async () => {
    const recent = await run(['anomalies', '--format', 'json']);
    expect(JSON.parse(recent.stdout)).toEqual([
      {
        ts: T + 60_000,
        deviceId: 'pi-1',
        metric: 'temp',
        value: 99,
        score: 8.5,
        expectedLow: 18,
        expectedHigh: 26,
        state: 'raised',
      },
    ]);
    const older = await run(['anomalies', '--device', 'pi-?', '--from', '-3d', '--format', 'csv']);
    expect(older.stdout.split('\n')).toEqual([
      'ts,device,metric,state,value,score,expected_low,expected_high',
      '2025-06-01T11:31:00.000Z,pi-1,temp,raised,99,8.5,18,26',
      '2025-05-30T11:30:00.000Z,pi-2,temp,cleared,0,5,9,11',
      '',
    ]);
    const none = await run(['anomalies', '--device', 'pi-3', '--from', '-3d', '--format', 'json']);
    expect(none.stdout).toBe('[]\n');
  });
});
