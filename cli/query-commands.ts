// The query CLI's logic, apart from process.argv and the real database so that
// tests can run it against an in-memory query service.
// Exit codes: 0 ok, 1 storage problem (no database, corrupt, ...) or nothing
// stored for the device `latest` names (GW_ERR_QUERY_NOT_FOUND), 2 usage error.

import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { GatewayError } from '../core/errors.js';
import {
  anomalyColumns,
  deadLetterColumns,
  deviceColumns,
  formatRows,
  forwardStatusColumns,
  latestColumns,
  OUTPUT_FORMATS,
  type OutputFormat,
  readingColumns,
  seriesColumns,
} from '../storage/format-rows.js';
import type { StorageReader } from '../storage/port.js';
import {
  BUCKETS,
  parseAnomalyParams,
  parseDeadLetterParams,
  parseDeviceId,
  parseReadingsParams,
  parseSeriesParams,
  QueryParamError,
} from '../storage/query/params.js';
import { DEFAULT_QUERY_CPU_PERCENT } from '../storage/query/query-pacer.js';
import {
  anomaliesResponse,
  latestResponse,
  seriesResponse,
  seriesSummary,
} from '../storage/query/responses.js';
import type { QueryService } from '../storage/query-port.js';
import { prepareExport } from './export-command.js';

export const USAGE = `usage: npm run query -- <command> [options]
  devices
  latest        --device D
  series        --device D|GLOB --metric M [--from T] [--to T] [--bucket B] [--agg A,...]
                (from -1h, to now, bucket 1m, agg count,min,max,avg)
  anomalies     [--device D|GLOB] [--from T] [--to T] [--limit N]  (from -24h, limit 100)
                alerts raised and cleared, newest first
  readings      --device D --metric M [--from T] [--to T] [--limit N]   (limit 1000, at most 100000)
  dead-letters  [--device D] [--limit N]                 (newest first, limit 100, at most 10000)
  export        [--device D|GLOB] [--metric M] --from T [--to T] --format csv|ndjson|parquet [--out FILE]
                every reading, streamed in constant memory: columns device, metric, ts, value, unit;
                ts is ISO 8601 in csv, epoch ms in ndjson and parquet; stdout without --out
                (parquet needs --out); the count goes to stderr
  forward-status  what an edge gateway (--forward) still owes upstream: backlog, cursor, ClientId
options: --format table|json|csv (table)   --db PATH|postgres://… (env GATEWAY_DB, else data/gateway.db)
env GATEWAY_QUERY_CPU_PERCENT (25): share of one core the query may use, as in the gateway.
T: now, -15m, -1h, -7d, +5m, ISO 8601 or epoch ms; --from is inclusive, --to exclusive.
B: ${Object.keys(BUCKETS).join(' ')}   A: count min max avg sum stddev p50 p95 p99 last
GLOB: * and ? in a device id (quote it in the shell) aggregate over every matching device.
json carries times as epoch ms; table and csv as ISO 8601 UTC. series says which stored
tier answered: in its JSON, on the table's first line, on stderr for csv.`;

const OPTIONS = {
  device: { type: 'string' },
  metric: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  limit: { type: 'string' },
  bucket: { type: 'string' },
  agg: { type: 'string' },
  format: { type: 'string' },
  out: { type: 'string' },
  db: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;
const QUERY_OPTIONS = ['device', 'metric', 'from', 'to', 'limit', 'bucket', 'agg', 'out'] as const;
export type QueryOption = (typeof QUERY_OPTIONS)[number];

export type Values = ReturnType<
  typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>
>['values'];

/** What the CLI needs from its surroundings. */
export interface QueryCliIo {
  env: Readonly<Record<string, string | undefined>>;
  now(): number;
  stdout(text: string): void;
  stderr(text: string): void;
  exists(path: string): boolean;
  openReader(path: string): StorageReader;
  /** cpuShare: the query thread's cap (storage/query/query-pacer.ts), from GATEWAY_QUERY_CPU_PERCENT */
  openQuery(path: string, cpuShare: number): Promise<QueryService>;
  /**
   * Where `export` streams: standard output without --out, else the file.
   * Absent: stdout() above, and a file opened with node:fs.
   */
  output?(path: string | undefined): Writable;
}

export interface Output {
  stdout: string;
  stderr?: string;
}

/** A command checks its options first, before any database is opened. */
export type Prepared =
  | { needs: 'reader'; run(reader: StorageReader): Promise<Output> }
  | { needs: 'query'; run(query: QueryService): Promise<Output> };

interface Command {
  accepts: readonly QueryOption[];
  prepare(v: Values, format: OutputFormat, now: number, io: QueryCliIo): Prepared;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  devices: {
    accepts: [],
    prepare: (_v, format) => ({
      needs: 'reader',
      run: async (reader) => ({ stdout: formatRows(await reader.devices(), deviceColumns, format) }),
    }),
  },
  latest: {
    accepts: ['device'],
    prepare(v, format) {
      const deviceId = parseDeviceId(v.device);
      return {
        needs: 'query',
        async run(query) {
          const latest = await query.latest(deviceId);
          // As GET /api/devices/{id}/latest answers 404: an empty table would read as success.
          if (latest.length === 0) throw new GatewayError('GW_ERR_QUERY_NOT_FOUND', [deviceId]);
          const { readings } = latestResponse(deviceId, latest);
          return { stdout: formatRows(readings, latestColumns, format) };
        },
      };
    },
  },
  series: {
    accepts: ['device', 'metric', 'from', 'to', 'bucket', 'agg'],
    prepare(v, format, now) {
      const parsed = parseSeriesParams(params(v, ['device', 'metric', 'from', 'to', 'bucket', 'agg']), {
        now,
      });
      return {
        needs: 'query',
        async run(query) {
          const response = seriesResponse(parsed, await query.series(parsed.query));
          if (format === 'json') return { stdout: `${JSON.stringify(response, null, 2)}\n` };
          const table = formatRows(response.points, seriesColumns(response.aggs), format);
          const summary = seriesSummary(response);
          // csv stays machine-readable: the tier goes to stderr there.
          return format === 'csv'
            ? { stdout: table, stderr: `${summary}\n` }
            : { stdout: `${summary}\n${table}` };
        },
      };
    },
  },
  anomalies: {
    accepts: ['device', 'from', 'to', 'limit'],
    prepare(v, format, now) {
      const parsed = parseAnomalyParams(params(v, ['device', 'from', 'to', 'limit']), { now });
      return {
        needs: 'query',
        async run(query) {
          const { anomalies } = anomaliesResponse(await query.anomalies(parsed));
          return { stdout: formatRows(anomalies, anomalyColumns, format) };
        },
      };
    },
  },
  readings: {
    accepts: ['device', 'metric', 'from', 'to', 'limit'],
    prepare(v, format, now) {
      const parsed = parseReadingsParams(params(v, ['device', 'metric', 'from', 'to', 'limit']), { now });
      return {
        needs: 'query',
        run: async (query) => ({
          stdout: formatRows(await query.readings(parsed), readingColumns, format),
        }),
      };
    },
  },
  'dead-letters': {
    accepts: ['device', 'limit'],
    prepare(v, format) {
      const parsed = parseDeadLetterParams(params(v, ['device', 'limit']));
      return {
        needs: 'query',
        run: async (query) => ({
          stdout: formatRows(await query.deadLetters(parsed), deadLetterColumns, format),
        }),
      };
    },
  },
  export: {
    accepts: ['device', 'metric', 'from', 'to', 'out'],
    // --format here names a file format, not a table style: the export parses it itself.
    prepare: (v, _format, now, io) =>
      prepareExport(params(v, ['device', 'metric', 'from', 'to']), v, now, io),
  },
  'forward-status': {
    accepts: [],
    prepare: (_v, format) => ({
      needs: 'reader',
      async run(reader) {
        if (reader.forwardStatus === undefined) {
          throw new GatewayError('GW_ERR_CONFIG_INVALID', ['this database has no forward log (SQLite only)']);
        }
        return { stdout: formatRows([await reader.forwardStatus()], forwardStatusColumns, format) };
      },
    }),
  },
};

export async function runQueryCli(argv: readonly string[], io: QueryCliIo): Promise<number> {
  let values: Values;
  let prepared: Prepared;
  let cpuShare: number;
  try {
    const parsed = parseArgs({
      args: attachValues(argv),
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    values = parsed.values;
    if (values.help === true) {
      io.stdout(`${USAGE}\n`);
      return 0;
    }
    const command = pickCommand(parsed.positionals);
    for (const name of QUERY_OPTIONS) {
      if (values[name] !== undefined && !command.accepts.includes(name))
        usage(`--${name} does not apply here`);
    }
    const format = command === COMMANDS.export ? 'table' : outputFormat(values.format ?? 'table');
    prepared = command.prepare(values, format, io.now(), io);
    cpuShare = cpuPercent(io.env.GATEWAY_QUERY_CPU_PERCENT) / 100;
  } catch (err) {
    return fail(err, io);
  }

  const db = values.db ?? io.env.GATEWAY_DB ?? 'data/gateway.db';
  if (!io.exists(db)) {
    io.stderr(`query: no database at ${db} (start the gateway, or pass --db / set GATEWAY_DB)\n`);
    return 1;
  }
  let close: (() => Promise<void>) | undefined;
  try {
    let output: Output;
    if (prepared.needs === 'reader') {
      const reader = io.openReader(db);
      close = () => reader.close();
      output = await prepared.run(reader);
    } else {
      const query = await io.openQuery(db, cpuShare);
      close = () => query.close();
      output = await prepared.run(query);
    }
    io.stdout(output.stdout);
    if (output.stderr !== undefined) io.stderr(output.stderr);
    return 0;
  } catch (err) {
    return fail(err, io);
  } finally {
    await close?.();
  }
}

/** Flag values under the HTTP API's parameter names, for the shared parser. */
export function params(v: Values, names: readonly QueryOption[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = v[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/**
 * `--from -15m` as two words: parseArgs would read `-15m` as short flags, so a
 * value that follows a value-taking option is attached to it (`--from=-15m`).
 */
function attachValues(argv: readonly string[]): string[] {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    const next = argv[i + 1];
    const takesValue =
      name !== undefined &&
      Object.hasOwn(OPTIONS, name) &&
      OPTIONS[name as keyof typeof OPTIONS].type === 'string';
    if (takesValue && next !== undefined && !next.startsWith('--')) {
      args.push(`${arg}=${next}`);
      i++;
    } else {
      args.push(arg);
    }
  }
  return args;
}

function pickCommand(positionals: readonly string[]): Command {
  const [name, extra] = positionals;
  if (name === undefined) usage(`missing command: one of ${Object.keys(COMMANDS).join(', ')}`);
  if (extra !== undefined) usage(`unexpected argument ${extra}`);
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) usage(`unknown command ${name}: one of ${Object.keys(COMMANDS).join(', ')}`);
  return command;
}

function outputFormat(value: string | undefined): OutputFormat {
  const format = OUTPUT_FORMATS.find((f) => f === value);
  if (format === undefined) usage(`--format must be one of ${OUTPUT_FORMATS.join(', ')}`);
  return format;
}

/** The same default and bounds as the gateway's --query-cpu-percent. */
function cpuPercent(text: string | undefined): number {
  if (text === undefined || text === '') return DEFAULT_QUERY_CPU_PERCENT;
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 1 && n <= 100))
    usage(`GATEWAY_QUERY_CPU_PERCENT must be a whole number from 1 to 100, got "${text}"`);
  return n;
}

export function usage(message: string): never {
  throw new GatewayError('GW_ERR_CLI_USAGE', [message]);
}

function isUsageError(err: unknown): boolean {
  if (err instanceof QueryParamError) return true;
  if (err instanceof GatewayError) return err.code === 'GW_ERR_CLI_USAGE';
  return String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS');
}

function fail(err: unknown, io: QueryCliIo): number {
  const message = err instanceof Error ? err.message : String(err);
  if (isUsageError(err)) {
    const flag = err instanceof QueryParamError ? `--${err.param}: ` : '';
    io.stderr(`query: ${flag}${message} (--help for usage)\n`);
    return 2;
  }
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  const code = err instanceof GatewayError ? `${err.code} ` : '';
  io.stderr(`query: ${code}${message}${cause}\n`);
  return 1;
}
