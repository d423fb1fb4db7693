#!/usr/bin/env node
// npm run devices -- add <id> [--metrics a,b] [--note …] | import FILE --tokens-out OUT | list | export
//                     | revoke <id> | rotate <id>   [--db PATH]
// Exit codes: 0 ok, 1 storage or registry problem (bad import rows included), 2 usage error.
// Tokens printed by add and rotate, or written by import, are shown once:
// only a keyed hash is kept (devices/tokens.ts).

import { closeSync, fsyncSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { GatewayError } from '../core/errors.js';
import { type Bridge, parseBridge } from '../devices/bridge.js';
import { openDeviceAdmin } from '../devices/device-admin.js';
import { formatDeviceCsv, formatTokensCsv, parseDeviceCsv } from '../devices/device-csv.js';

const USAGE = `usage: npm run devices -- <command> [options]
  add <id> [--metrics a,b] [--note TEXT]   register a device; prints its token once
      [--bridge zigbee2mqtt | --bridge sparkplug --group G]
                                           a bridge publishes for the devices behind it, on its
                                           adapter's topics only (docs/sensors.md)
  import FILE --tokens-out OUT             register every device of a CSV (header "id", optional
                                           "metrics" (a;b) and "note") in one transaction; writes
                                           "id,token" lines to OUT (mode 0600, never overwritten)
  list [--format table|json]               registered devices (never tokens)
  export [--format csv|json]               the registry, to stdout (never tokens; importable)
  rotate <id>                              a new token; the old one stops working (also un-revokes)
  revoke <id>                              the token stops working; a connected device is disconnected
options: --db PATH (env GATEWAY_DB, else data/gateway.db); add and import create it,
         the other commands refuse a database that does not exist`;

const OPTIONS = {
  metrics: { type: 'string' },
  note: { type: 'string' },
  bridge: { type: 'string' },
  group: { type: 'string' },
  format: { type: 'string' },
  db: { type: 'string' },
  'tokens-out': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const COMMANDS = ['add', 'import', 'list', 'export', 'rotate', 'revoke'];
/** Commands that may make a new database; the rest refuse a missing one (a mistyped --db). */
const CREATING = new Set(['add', 'import']);

async function main(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    return fail(err);
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [command, id, extra] = positionals;
  const format = values.format ?? (command === 'export' ? 'csv' : 'table');
  try {
    if (command === undefined) usage(`missing command: one of ${COMMANDS.join(', ')}`);
    if (!COMMANDS.includes(command)) usage(`unknown command ${command}: one of ${COMMANDS.join(', ')}`);
    if (extra !== undefined) usage(`unexpected argument ${extra}`);
    if (
      command !== 'add' &&
      (values.metrics !== undefined || values.note !== undefined || values.bridge !== undefined)
    )
      usage('--metrics, --note and --bridge apply to add only');
    if (values.group !== undefined && values.bridge !== 'sparkplug')
      usage('--group goes with --bridge sparkplug');
    if (command === 'import' && id === undefined) usage('import needs a CSV file');
    if (command === 'import' && values['tokens-out'] === undefined)
      usage('import needs --tokens-out OUT: the new tokens are shown nowhere else');
    if (command !== 'import' && values['tokens-out'] !== undefined)
      usage('--tokens-out applies to import only');
    if (command !== 'list' && command !== 'export' && id === undefined) usage(`${command} needs a device id`);
    if ((command === 'list' || command === 'export') && id !== undefined) usage(`unexpected argument ${id}`);
    if (command === 'list' && format !== 'table' && format !== 'json')
      usage('--format must be table or json');
    if (command === 'export' && format !== 'csv' && format !== 'json') usage('--format must be csv or json');
    if (command !== 'list' && command !== 'export' && values.format !== undefined)
      usage('--format applies to list and export only');
  } catch (err) {
    return fail(err);
  }

  const db = values.db ?? process.env.GATEWAY_DB ?? 'data/gateway.db';
  let admin: ReturnType<typeof openDeviceAdmin> | undefined;
  try {
    // Read the file before opening (or making) the database: a bad file changes nothing.
    const rows = command === 'import' ? parseDeviceCsv(readText(id!)) : [];
    admin = openDeviceAdmin({ path: db, create: CREATING.has(command) });
    switch (command) {
      case 'add': {
        const metrics = values.metrics
          ?.split(',')
          .map((m) => m.trim())
          .filter((m) => m !== '');
        const bridge = bridgeOption(values.bridge, values.group);
        const token = await admin.add(id!, {
          ...(metrics === undefined ? {} : { metrics }),
          ...(values.note === undefined ? {} : { note: values.note }),
          ...(bridge === undefined ? {} : { bridge }),
        });
        printToken(id!, token, 'registered');
        return 0;
      }
      case 'import': {
        const out = values['tokens-out']!;
        const started = performance.now();
        await importDevices(admin, rows, out);
        const ms = Math.round(performance.now() - started);
        process.stdout.write(
          `imported ${rows.length} devices in ${ms} ms; their tokens are in ${out} (mode 0600): ` +
            'hand each device its line, then delete the file\n',
        );
        return 0;
      }
      case 'rotate':
        printToken(id!, await admin.rotate(id!), 'rotated');
        return 0;
      case 'revoke':
        admin.revoke(id!);
        process.stdout.write(`revoked ${id}: its token no longer works; a connected session is closed\n`);
        return 0;
      case 'export': {
        const devices = admin.list();
        process.stdout.write(
          format === 'json' ? `${JSON.stringify(devices.map(summary))}\n` : formatDeviceCsv(devices),
        );
        return 0;
      }
      default: {
        const rows = admin.list().map(summary);
        process.stdout.write(format === 'json' ? `${JSON.stringify(rows)}\n` : table(rows));
        return 0;
      }
    }
  } catch (err) {
    return fail(err);
  } finally {
    admin?.close();
  }
}

/**
 * The tokens file is made first (exclusively, 0600), filled and synced
 * inside the import's transaction before it commits: a device never exists
 * whose token was not saved. Any failure removes the file, and nothing is registered.
 */
async function importDevices(
  admin: ReturnType<typeof openDeviceAdmin>,
  rows: ReturnType<typeof parseDeviceCsv>,
  out: string,
): Promise<void> {
  let fd: number;
  try {
    fd = openSync(out, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new GatewayError('GW_ERR_FILE_EXISTS', [out]);
    throw err;
  }
  let committed = false;
  try {
    await admin.import(rows, (tokens) => {
      writeSync(fd, formatTokensCsv(tokens));
      fsyncSync(fd);
    });
    committed = true;
  } finally {
    closeSync(fd);
    if (!committed) unlinkSync(out);
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new GatewayError('GW_ERR_CLI_USAGE', [`cannot read ${path}: ${(err as Error).message}`]);
  }
}

function summary(c: ReturnType<ReturnType<typeof openDeviceAdmin>['list']>[number]): Record<string, string> {
  return {
    device: c.deviceId,
    status: c.revokedAt === null ? 'active' : 'revoked',
    metrics: c.allowedMetrics?.join(',') ?? '*',
    bridge: c.bridge ?? '',
    created: iso(c.createdAt),
    rotated: iso(c.rotatedAt),
    revoked: iso(c.revokedAt),
    note: c.note ?? '',
  };
}

function printToken(id: string, token: string, what: string): void {
  process.stdout.write(
    `${what} ${id}\ntoken: ${token}\n` +
      `Store it now: it is shown only once. Connect with username "${id}", this token as password, ` +
      `and ClientId "${id}" (or "${id}-<suffix>").\n`,
  );
}

function iso(ms: number | null): string {
  return ms === null ? '' : new Date(ms).toISOString();
}

function table(rows: ReadonlyArray<Record<string, string>>): string {
  if (rows.length === 0) return '(no devices registered)\n';
  const keys = Object.keys(rows[0]!);
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => (r[k] ?? '').length)));
  const line = (cells: string[]) =>
    `${cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()}\n`;
  return line(keys) + rows.map((r) => line(keys.map((k) => r[k] ?? ''))).join('');
}

function usage(message: string): never {
  throw new GatewayError('GW_ERR_CLI_USAGE', [message]);
}

function fail(err: unknown): number {
  const usageError =
    (err instanceof GatewayError && err.code === 'GW_ERR_CLI_USAGE') ||
    String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS');
  const message = err instanceof Error ? err.message : String(err);
  if (usageError) {
    process.stderr.write(`devices: ${message} (--help for usage)\n`);
    return 2;
  }
  const code = err instanceof GatewayError ? `${err.code}: ` : '';
  const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : '';
  process.stderr.write(`devices: ${code}${message}${cause}\n`);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`devices: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);

/** --bridge zigbee2mqtt, or --bridge sparkplug --group G (the edge node's group). */
function bridgeOption(adapter: string | undefined, group: string | undefined): Bridge | undefined {
  if (adapter === undefined) return undefined;
  const parsed = parseBridge(group === undefined ? adapter : `${adapter}:${group}`);
  if ('problem' in parsed) throw new GatewayError('GW_ERR_CLI_USAGE', [parsed.problem]);
  return parsed;
}
