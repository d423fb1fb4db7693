// npm run query -- <readings|devices|dead-letters> [options]
// Exit codes: 0 ok, 1 storage problem (no database, corrupt, ...), 2 usage error.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { GatewayError } from '../gateway/errors.js';
import {
  type Column,
  deadLetterColumns,
  deviceColumns,
  formatRows,
  OUTPUT_FORMATS,
  type OutputFormat,
  readingColumns,
} from './format-rows.js';
import type { StorageReader } from './port.js';
import { openSqliteReader } from './sqlite/sqlite-reader.js';
import { parseTimeExpr } from './time-expr.js';

const USAGE = `usage: npm run query -- <command> [options]
  readings      --device D --metric M [--from T] [--to T] [--limit N]   (limit default 1000)
  devices
  dead-letters  [--device D] [--limit N]                              (newest first, limit default 100)
options: --format table|json|csv (table)   --db PATH (env GATEWAY_DB, else data/gateway.db)
T: now, -15m, -1h, -7d, +5m, ISO 8601 or epoch ms; --from is inclusive, --to exclusive.
json carries times as epoch ms; table and csv as ISO 8601 UTC.`;

const OPTIONS = {
  device: { type: 'string' },
  metric: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  limit: { type: 'string' },
  format: { type: 'string', default: 'table' },
  db: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

interface Command {
  /** options beyond --format, --db and --help */
  accepts: readonly (keyof Values)[];
  defaultLimit?: number;
  run(reader: StorageReader, values: Values, limit: number | undefined): Promise<string>;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  readings: {
    accepts: ['device', 'metric', 'from', 'to', 'limit'],
    defaultLimit: 1000,
    async run(reader, v, limit) {
      const now = Date.now();
      const query = { deviceId: required(v.device, 'device'), metric: required(v.metric, 'metric') };
      const rows = await reader.readings({
        ...query,
        ...(v.from === undefined ? {} : { from: parseTimeExpr(v.from, now) }),
        ...(v.to === undefined ? {} : { to: parseTimeExpr(v.to, now) }),
        ...(limit === undefined ? {} : { limit }),
      });
      return render(rows, readingColumns, v);
    },
  },
  devices: {
    accepts: [],
    async run(reader, v) {
      return render(await reader.devices(), deviceColumns, v);
    },
  },
  'dead-letters': {
    accepts: ['device', 'limit'],
    defaultLimit: 100,
    async run(reader, v, limit) {
      const rows = await reader.deadLetters({
        ...(v.device === undefined ? {} : { deviceId: v.device }),
        ...(limit === undefined ? {} : { limit }),
      });
      return render(rows, deadLetterColumns, v);
    },
  },
};

async function main(argv: readonly string[]): Promise<number> {
  let values: Values;
  let command: Command;
  let limit: number | undefined;
  try {
    const parsed = parseArgs({
      args: attachValues(argv),
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    values = parsed.values;
    if (values.help === true) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    command = pickCommand(parsed.positionals);
    for (const name of ['device', 'metric', 'from', 'to', 'limit'] as const) {
      if (values[name] !== undefined && !command.accepts.includes(name))
        usage(`--${name} does not apply here`);
    }
    outputFormat(values.format);
    limit = values.limit === undefined ? command.defaultLimit : positiveInt(values.limit, 'limit');
  } catch (err) {
    return fail(err);
  }

  const db = values.db ?? process.env.GATEWAY_DB ?? 'data/gateway.db';
  if (!existsSync(db)) {
    process.stderr.write(`query: no database at ${db} (start the gateway, or pass --db / set GATEWAY_DB)\n`);
    return 1;
  }
  let reader: StorageReader | undefined;
  try {
    reader = openSqliteReader({ path: db });
    process.stdout.write(await command.run(reader, values, limit));
    return 0;
  } catch (err) {
    return fail(err);
  } finally {
    await reader?.close();
  }
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

function render<T>(rows: readonly T[], columns: readonly Column<T>[], v: Values): string {
  return formatRows(rows, columns, outputFormat(v.format));
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

function positiveInt(text: string, name: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) usage(`--${name} must be a positive integer`);
  return n;
}

function required(value: string | undefined, name: string): string {
  if (value === undefined || value === '') usage(`--${name} is required`);
  return value;
}

function usage(message: string): never {
  throw new GatewayError('GW_ERR_CLI_USAGE', [message]);
}

function fail(err: unknown): number {
  const usageError =
    (err instanceof GatewayError && err.code === 'GW_ERR_CLI_USAGE') ||
    String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS');
  const message = err instanceof Error ? err.message : String(err);
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  if (usageError) {
    process.stderr.write(`query: ${message} (--help for usage)\n`);
    return 2;
  }
  const code = err instanceof GatewayError ? `${err.code} ` : '';
  process.stderr.write(`query: ${code}${message}${cause}\n`);
  return 1;
}

// `| head` closing the pipe early is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});
process.exitCode = await main(process.argv.slice(2));
