// The gateway's view of the device registry: a read-only connection of its
// own (WAL lets it read while the writer thread and the devices CLI write).
// A primary-key lookup costs microseconds, so CONNECT reads the row every
// time: a revoked or rotated token stops working at once, no restart needed.

import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { GatewayError } from '../core/errors.js';
import { type CredentialChange, CredentialStore, type DeviceCredential } from './credential-store.js';
import { loadPepper } from './pepper.js';
import { createRehashQueue, type RehashQueue } from './rehash-queue.js';
import { createTokenHasher, type TokenHasher } from './tokens.js';

export interface DeviceRegistry {
  /** The current row, read from the database on every call. */
  lookup(deviceId: string): DeviceCredential | undefined;
  /**
   * Whether an id is registered (revoked ones too), from memory: refreshed by
   * poll(), so it may lag the database by one poll period. Used on hot paths
   * (anonymous publishes, ClientId checks), where a database read per message
   * would cost more than the lag.
   */
  isRegistered(deviceId: string): boolean;
  /** checks presented tokens against rows (devices/tokens.ts) */
  readonly tokens: TokenHasher;
  /**
   * A legacy (scrypt) row whose token just proved good: its peppered hash is
   * stored shortly after, so the next CONNECT costs microseconds.
   */
  upgrade(row: DeviceCredential, token: string | Buffer): void;
  readonly size: number;
  /** Rows changed (added, rotated, revoked) since the previous poll. */
  poll(): CredentialChange[];
  close(): void;
}

export interface DeviceRegistryOptions {
  path: string;
  /** legacy rows rehashed (written in batches) */
  onUpgraded?: (rows: number) => void;
  /** a batch of rehashes that could not be written; those rows keep verifying with scrypt */
  onUpgradeError?: (err: unknown) => void;
}

export function openDeviceRegistry(opts: DeviceRegistryOptions): DeviceRegistry {
  let db: Database.Database;
  try {
    db = new Database(opts.path, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new GatewayError('GW_ERR_STORAGE_OPEN', [opts.path], { cause: err });
  }
  try {
    const store = new CredentialStore(db);
    const tokens = createTokenHasher(loadPepper(opts.path, store.pepperUse()));
    const upgrades = createRehashQueue({
      open: () => new Database(opts.path, { fileMustExist: true }),
      ...(opts.onUpgraded === undefined ? {} : { onFlushed: opts.onUpgraded }),
      ...(opts.onUpgradeError === undefined ? {} : { onError: opts.onUpgradeError }),
    });
    return createDeviceRegistry(db, tokens, upgrades);
  } catch (err) {
    db.close();
    throw err;
  }
}

export function createDeviceRegistry(
  db: Database.Database,
  tokens: TokenHasher,
  upgrades?: RehashQueue,
): DeviceRegistry {
  const store = new CredentialStore(db);
  const ids = new Set(store.ids());
  let seen = store.maxVersion();
  return {
    lookup: (deviceId) => store.get(deviceId),
    isRegistered: (deviceId) => ids.has(deviceId),
    tokens,
    upgrade(row, token) {
      upgrades?.add(row.deviceId, row.version, tokens.hash(token));
    },
    get size() {
      return ids.size;
    },
    poll() {
      const changes = store.changesSince(seen);
      for (const c of changes) {
        ids.add(c.deviceId);
        seen = Math.max(seen, c.version);
      }
      return changes;
    },
    close() {
      upgrades?.close();
      db.close();
    },
  };
}

/** A registry with no devices: for gateways started without a database-backed one (tests, embedding). */
export function emptyDeviceRegistry(): DeviceRegistry {
  // No row ever needs it: a throwaway key.
  const key = randomBytes(32);
  return {
    lookup: () => undefined,
    isRegistered: () => false,
    tokens: createTokenHasher({ key, id: 'none' }),
    upgrade: () => {},
    size: 0,
    poll: () => [],
    close: () => {},
  };
}
