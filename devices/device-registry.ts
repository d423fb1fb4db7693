// The gateway's view of the device registry: a read-only connection of its
// own (WAL lets it read while the writer thread and the devices CLI write).
// A primary-key lookup costs microseconds, so CONNECT reads the row every
// time: a revoked or rotated token stops working at once, no restart needed.

import Database from 'better-sqlite3';
import { GatewayError } from '../core/errors.js';
import { type CredentialChange, CredentialStore, type DeviceCredential } from './credential-store.js';

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
  readonly size: number;
  /** Rows changed (added, rotated, revoked) since the previous poll. */
  poll(): CredentialChange[];
  close(): void;
}

export function openDeviceRegistry(opts: { path: string }): DeviceRegistry {
  let db: Database.Database;
  try {
    db = new Database(opts.path, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new GatewayError('GW_ERR_STORAGE_OPEN', [opts.path], { cause: err });
  }
  return createDeviceRegistry(db);
}

export function createDeviceRegistry(db: Database.Database): DeviceRegistry {
  const store = new CredentialStore(db);
  const ids = new Set(store.ids());
  let seen = store.maxVersion();
  return {
    lookup: (deviceId) => store.get(deviceId),
    isRegistered: (deviceId) => ids.has(deviceId),
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
    close: () => db.close(),
  };
}

/** A registry with no devices: for gateways started without a database-backed one (tests, embedding). */
export function emptyDeviceRegistry(): DeviceRegistry {
  return {
    lookup: () => undefined,
    isRegistered: () => false,
    size: 0,
    poll: () => [],
    close: () => {},
  };
}
