// The registry's write side, behind `npm run devices`. Opens its own write
// connection; WAL and a busy timeout let it commit while the gateway's writer
// thread is ingesting.

import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { GatewayError } from '../core/errors.js';
import { NAME_PATTERN } from '../core/names.js';
import { migrate } from '../storage/sqlite/schema.js';
import { type Bridge, formatBridge } from './bridge.js';
import { CredentialStore, type DeviceCredential } from './credential-store.js';
import { loadPepper } from './pepper.js';
import {
  createTokenHasher,
  generateToken,
  hashTokenScrypt,
  type ScryptParams,
  type TokenHash,
  type TokenHasher,
} from './tokens.js';

export interface ImportRow {
  /** where it came from, for errors (1-based line of the file) */
  line: number;
  id: string;
  metrics?: readonly string[];
  note?: string;
}

export interface IssuedToken {
  deviceId: string;
  token: string;
}

export interface DeviceAdmin {
  /** Registers a device; resolves with its token, which is never stored in clear. */
  add(
    deviceId: string,
    opts?: { metrics?: readonly string[]; note?: string; bridge?: Bridge },
  ): Promise<string>;
  /**
   * Registers every row in one transaction, or none. Every row is checked
   * first (GW_ERR_IMPORT_ROW names the line). `keep` gets the tokens before
   * the commit, so they are saved before any device exists that needs them;
   * if it throws, nothing is registered.
   */
  import(rows: readonly ImportRow[], keep: (tokens: readonly IssuedToken[]) => void): Promise<void>;
  /** A new token; the old one stops working. Also brings back a revoked device. */
  rotate(deviceId: string): Promise<string>;
  revoke(deviceId: string): void;
  list(): DeviceCredential[];
  close(): void;
}

export interface DeviceAdminOptions {
  path: string;
  /**
   * Make the database if it does not exist (add, import). false for the
   * commands that only read or change existing devices, so a mistyped --db
   * is an error (GW_ERR_REGISTRY_MISSING), not a new empty registry.
   */
  create?: boolean;
  now?: () => number;
  /** hash new tokens with scrypt as earlier versions did: only to make legacy rows in tests */
  legacyScrypt?: ScryptParams;
}

export function openDeviceAdmin(opts: DeviceAdminOptions): DeviceAdmin {
  const create = opts.create ?? true;
  if (!create && !existsSync(opts.path)) throw new GatewayError('GW_ERR_REGISTRY_MISSING', [opts.path]);
  let db: Database.Database;
  try {
    if (create) mkdirSync(dirname(opts.path), { recursive: true });
    db = new Database(opts.path, { fileMustExist: !create });
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    // A registry made before the gateway first ran gets the full schema.
    migrate(db);
  } catch (err) {
    throw new GatewayError('GW_ERR_STORAGE_OPEN', [opts.path], { cause: err });
  }
  const store = new CredentialStore(db);
  const now = opts.now ?? Date.now;
  // Only the commands that hash need the pepper: list and revoke never make one.
  let hasher: TokenHasher | undefined;
  const hash = async (token: string): Promise<TokenHash> => {
    if (opts.legacyScrypt !== undefined) return hashTokenScrypt(token, opts.legacyScrypt);
    hasher ??= createTokenHasher(loadPepper(opts.path, store.pepperUse()));
    return hasher.hash(token);
  };

  return {
    async add(deviceId, addOpts = {}) {
      checkName(deviceId, 'device id');
      for (const m of addOpts.metrics ?? []) checkName(m, 'metric');
      if (store.get(deviceId) !== undefined) throw new GatewayError('GW_ERR_DEVICE_EXISTS', [deviceId]);
      const token = generateToken();
      store.insert({
        deviceId,
        token: await hash(token),
        allowedMetrics: allowed(addOpts.metrics),
        note: addOpts.note ?? null,
        createdAt: now(),
        bridge: addOpts.bridge === undefined ? null : formatBridge(addOpts.bridge),
      });
      return token;
    },
    async import(rows, keep) {
      const seen = new Map<string, number>();
      for (const row of rows) {
        const bad =
          nameProblem(row.id, 'device id') ?? row.metrics?.map((m) => nameProblem(m, 'metric')).find(Boolean);
        if (bad !== undefined) throw new GatewayError('GW_ERR_IMPORT_ROW', [row.line, bad]);
        const first = seen.get(row.id);
        if (first !== undefined)
          throw new GatewayError('GW_ERR_IMPORT_ROW', [
            row.line,
            `device ${row.id} is also on line ${first}`,
          ]);
        seen.set(row.id, row.line);
      }
      const issued = rows.map((row) => ({ row, token: generateToken() }));
      const hashes = await Promise.all(issued.map((i) => hash(i.token)));
      const createdAt = now();
      // IMMEDIATE: the check for ids already registered and the inserts see one state.
      db.transaction(() => {
        for (const { row } of issued) {
          if (store.get(row.id) !== undefined)
            throw new GatewayError('GW_ERR_IMPORT_ROW', [row.line, `device ${row.id} is already registered`]);
        }
        keep(issued.map(({ row, token }) => ({ deviceId: row.id, token })));
        issued.forEach(({ row }, i) => {
          store.insert({
            deviceId: row.id,
            token: hashes[i]!,
            allowedMetrics: allowed(row.metrics),
            note: row.note ?? null,
            createdAt,
            bridge: null,
          });
        });
      }).immediate();
    },
    async rotate(deviceId) {
      if (store.get(deviceId) === undefined) throw new GatewayError('GW_ERR_DEVICE_UNKNOWN', [deviceId]);
      const token = generateToken();
      store.replaceToken(deviceId, await hash(token), now());
      return token;
    },
    revoke(deviceId) {
      if (store.get(deviceId) === undefined) throw new GatewayError('GW_ERR_DEVICE_UNKNOWN', [deviceId]);
      store.revoke(deviceId, now());
    },
    list: () => store.list(),
    close: () => db.close(),
  };
}

function allowed(metrics: readonly string[] | undefined): string[] | null {
  return metrics === undefined || metrics.length === 0 ? null : [...new Set(metrics)];
}

function nameProblem(name: string, what: string): string | undefined {
  // The same alphabet as topics, so every registered id can publish.
  return NAME_PATTERN.test(name) ? undefined : `${what} "${name}" must match [A-Za-z0-9_.-]{1,64}`;
}

function checkName(name: string, what: string): void {
  const problem = nameProblem(name, what);
  if (problem !== undefined) throw new GatewayError('GW_ERR_CLI_USAGE', [problem]);
}
