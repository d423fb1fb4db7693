#!/usr/bin/env node
// npm run devices -- add <id> [--metrics a,b] [--note …] | list | revoke <id> | rotate <id>   [--db PATH]
// Exit codes: 0 ok, 1 storage or registry problem, 2 usage error.
// The token printed by add and rotate is shown once: only its scrypt hash is kept.

import { parseArgs } from 'node:util';
import { GatewayError } from '../core/errors.js';
import { openDeviceAdmin } from '../devices/device-admin.js';

const USAGE = `usage: npm run devices -- <command> [options]
  add <id> [--metrics a,b] [--note TEXT]   register a device; prints its token once
  list [--format table|json]               registered devices (never tokens)
  rotate <id>                              a new token; the old one stops working (also un-revokes)
  revoke <id>                              the token stops working; a connected device is disconnected
options: --db PATH (env GATEWAY_DB, else data/gateway.db)`;

const OPTIONS = {
  metrics: { type: 'string' },
  note: { type: 'string' },
  format: { type: 'string', default: 'table' },
  db: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

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
  try {
    if (command === undefined) usage('missing command: one of add, list, rotate, revoke');
    if (extra !== undefined) usage(`unexpected argument ${extra}`);
    if (command !== 'add' && (values.metrics !== undefined || values.note !== undefined))
      usage('--metrics and --note apply to add only');
    if (command !== 'list' && id === undefined) usage(`${command} needs a device id`);
    if (command === 'list' && id !== undefined) usage(`unexpected argument ${id}`);
    if (values.format !== 'table' && values.format !== 'json') usage('--format must be table or json');
  } catch (err) {
    return fail(err);
  }

  const db = values.db ?? process.env.GATEWAY_DB ?? 'data/gateway.db';
  let admin: ReturnType<typeof openDeviceAdmin> | undefined;
  try {
    admin = openDeviceAdmin({ path: db });
    switch (command) {
      case 'add': {
        const metrics = values.metrics
          ?.split(',')
          .map((m) => m.trim())
          .filter((m) => m !== '');
        const token = await admin.add(id!, {
          ...(metrics === undefined ? {} : { metrics }),
          ...(values.note === undefined ? {} : { note: values.note }),
        });
        printToken(id!, token, 'registered');
        return 0;
      }
      case 'rotate':
        printToken(id!, await admin.rotate(id!), 'rotated');
        return 0;
      case 'revoke':
        admin.revoke(id!);
        process.stdout.write(`revoked ${id}: its token no longer works; a connected session is closed\n`);
        return 0;
      case 'list': {
        const rows = admin.list().map((c) => ({
          device: c.deviceId,
          status: c.revokedAt === null ? 'active' : 'revoked',
          metrics: c.allowedMetrics?.join(',') ?? '*',
          created: iso(c.createdAt),
          rotated: iso(c.rotatedAt),
          revoked: iso(c.revokedAt),
          note: c.note ?? '',
        }));
        process.stdout.write(values.format === 'json' ? `${JSON.stringify(rows)}\n` : table(rows));
        return 0;
      }
      default:
        return fail(
          new GatewayError('GW_ERR_CLI_USAGE', [
            `unknown command ${command}: one of add, list, rotate, revoke`,
          ]),
        );
    }
  } catch (err) {
    return fail(err);
  } finally {
    admin?.close();
  }
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
