// The registry's write side, behind `npm run devices`. Opens its own write
// connection; WAL and a busy timeout let it commit while the gateway's writer
// thread is ingesting.

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { GatewayError } from '../core/errors.js';
import { NAME_PATTERN } from '../core/names.js';
import { migrate } from '../storage/sqlite/schema.js';
import { CredentialStore, type DeviceCredential } from './credential-store.js';
import { generateToken, hashToken, type KdfParams } from './tokens.js';

export interface DeviceAdmin {
  /** Registers a device; resolves with its token, which is never stored in clear. */
  add(deviceId: string, opts?: { metrics?: readonly string[]; note?: string }): Promise<string>;
  /** A new token; the old one stops working. Also brings back a revoked device. */
  rotate(deviceId: string): Promise<string>;
  revoke(deviceId: string): void;
  list(): DeviceCredential[];
  close(): void;
}

export interface DeviceAdminOptions {
  path: string;
  now?: () => number;
  kdf?: KdfParams;
}

export function openDeviceAdmin(opts: DeviceAdminOptions): DeviceAdmin {
  mkdirSync(dirname(opts.path), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(opts.path);
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    // A registry made before the gateway first ran gets the full schema.
    migrate(db);
  } catch (err) {
    throw new GatewayError('GW_ERR_STORAGE_OPEN', [opts.path], { cause: err });
  }
  const store = new CredentialStore(db);
  const now = opts.now ?? Date.now;

  return {
    async add(deviceId, addOpts = {}) {
      checkName(deviceId, 'device id');
      const metrics = addOpts.metrics ?? null;
      for (const m of metrics ?? []) checkName(m, 'metric');
      if (store.get(deviceId) !== undefined) throw new GatewayError('GW_ERR_DEVICE_EXISTS', [deviceId]);
      const token = generateToken();
      store.insert({
        deviceId,
        token: await hashToken(token, opts.kdf),
        allowedMetrics: metrics === null || metrics.length === 0 ? null : [...new Set(metrics)],
        note: addOpts.note ?? null,
        createdAt: now(),
      });
      return token;
    },
    async rotate(deviceId) {
      if (store.get(deviceId) === undefined) throw new GatewayError('GW_ERR_DEVICE_UNKNOWN', [deviceId]);
      const token = generateToken();
      store.replaceToken(deviceId, await hashToken(token, opts.kdf), now());
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

function checkName(name: string, what: string): void {
  // The same alphabet as topics, so every registered id can publish.
  if (!NAME_PATTERN.test(name)) {
    throw new GatewayError('GW_ERR_CLI_USAGE', [`${what} "${name}" must match [A-Za-z0-9_.-]{1,64}`]);
  }
}
