// SQL over the device_credentials table (storage/sqlite/schema.ts). Used
// read-only by the gateway and read-write by the devices CLI.

import type { Database, Statement } from 'better-sqlite3';
import { parseKdf, type TokenHash } from './tokens.js';

export interface DeviceCredential {
  deviceId: string;
  token: TokenHash;
  /** null: any metric */
  allowedMetrics: readonly string[] | null;
  note: string | null;
  createdAt: number;
  rotatedAt: number | null;
  revokedAt: number | null;
  /** bumped on every change; a session authenticated at an older version is stale */
  version: number;
  /** `zigbee2mqtt` or `sparkplug:{group}` for a bridge (devices/bridge.ts), else null */
  bridge: string | null;
}

/** What the gateway's change poll needs: no hashes. */
export interface CredentialChange {
  deviceId: string;
  version: number;
  revokedAt: number | null;
}

interface Row {
  device_id: string;
  token_hash: Buffer;
  token_salt: Buffer;
  kdf: string;
  allowed_metrics: string | null;
  note: string | null;
  created_at: number;
  rotated_at: number | null;
  revoked_at: number | null;
  version: number;
  bridge: string | null;
}

const COLUMNS =
  'device_id, token_hash, token_salt, kdf, allowed_metrics, note, created_at, rotated_at, revoked_at, version, bridge';

export class CredentialStore {
  readonly #db: Database;
  readonly #get: Statement;
  readonly #changes: Statement;
  readonly #maxVersion: Statement;
  #insert: Statement | undefined;

  constructor(db: Database) {
    this.#db = db;
    this.#get = db.prepare(`SELECT ${COLUMNS} FROM device_credentials WHERE device_id = ?`);
    this.#changes = db.prepare(
      `SELECT device_id AS deviceId, version, revoked_at AS revokedAt
         FROM device_credentials WHERE version > ? ORDER BY version`,
    );
    this.#maxVersion = db.prepare('SELECT coalesce(max(version), 0) FROM device_credentials').pluck();
  }

  get(deviceId: string): DeviceCredential | undefined {
    const row = this.#get.get(deviceId) as Row | undefined;
    return row === undefined ? undefined : fromRow(row);
  }

  list(): DeviceCredential[] {
    const rows = this.#db
      .prepare(`SELECT ${COLUMNS} FROM device_credentials ORDER BY device_id`)
      .all() as Row[];
    return rows.map(fromRow);
  }

  /** Registered ids, revoked ones included: their ids stay reserved against ClientId takeover. */
  ids(): string[] {
    return this.#db.prepare('SELECT device_id FROM device_credentials').pluck().all() as string[];
  }

  changesSince(version: number): CredentialChange[] {
    return this.#changes.all(version) as CredentialChange[];
  }

  maxVersion(): number {
    return this.#maxVersion.get() as number;
  }

  /** How many rows were hashed under each pepper id (devices/pepper.ts). */
  pepperUse(): Map<string, number> {
    const rows = this.#db
      .prepare(
        `SELECT json_extract(kdf, '$.pepper') AS id, count(*) AS n FROM device_credentials
          WHERE json_extract(kdf, '$.alg') = 'hmac-sha256' GROUP BY 1`,
      )
      .all() as Array<{ id: string; n: number }>;
    return new Map(rows.map((r) => [r.id, r.n]));
  }

  insert(c: Omit<DeviceCredential, 'version' | 'rotatedAt' | 'revokedAt'>): void {
    // Prepared once: a bulk import inserts thousands in one transaction.
    this.#insert ??= this.#db.prepare(
      `INSERT INTO device_credentials (${COLUMNS})
       VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL,
               (SELECT coalesce(max(version), 0) + 1 FROM device_credentials), ?)`,
    );
    this.#insert.run(
      c.deviceId,
      c.token.hash,
      c.token.salt,
      JSON.stringify(c.token.kdf),
      c.allowedMetrics === null ? null : JSON.stringify(c.allowedMetrics),
      c.note,
      c.createdAt,
      c.bridge,
    );
  }

  /** New token; also lifts a revocation (rotate is how a revoked device comes back). */
  replaceToken(deviceId: string, token: TokenHash, at: number): boolean {
    const result = this.#db
      .prepare(
        `UPDATE device_credentials
            SET token_hash = ?, token_salt = ?, kdf = ?, rotated_at = ?, revoked_at = NULL,
                version = (SELECT max(version) + 1 FROM device_credentials)
          WHERE device_id = ?`,
      )
      .run(token.hash, token.salt, JSON.stringify(token.kdf), at, deviceId);
    return result.changes === 1;
  }

  /**
   * The same token under a new hash (a legacy scrypt row rehashed after a
   * good CONNECT). Only if the row is still at `version`, so a rotation in
   * between wins; the version is not bumped, because the token did not
   * change and a bump would make the gateway close the very session that
   * just proved it.
   */
  rehash(deviceId: string, version: number, token: TokenHash): boolean {
    const result = this.#db
      .prepare(
        'UPDATE device_credentials SET token_hash = ?, token_salt = ?, kdf = ? WHERE device_id = ? AND version = ?',
      )
      .run(token.hash, token.salt, JSON.stringify(token.kdf), deviceId, version);
    return result.changes === 1;
  }

  revoke(deviceId: string, at: number): boolean {
    const result = this.#db
      .prepare(
        `UPDATE device_credentials
            SET revoked_at = ?, version = (SELECT max(version) + 1 FROM device_credentials)
          WHERE device_id = ? AND revoked_at IS NULL`,
      )
      .run(at, deviceId);
    return result.changes === 1;
  }
}

function fromRow(row: Row): DeviceCredential {
  return {
    deviceId: row.device_id,
    token: { hash: row.token_hash, salt: row.token_salt, kdf: parseKdf(row.kdf) },
    allowedMetrics: row.allowed_metrics === null ? null : (JSON.parse(row.allowed_metrics) as string[]),
    note: row.note,
    createdAt: row.created_at,
    rotatedAt: row.rotated_at,
    revokedAt: row.revoked_at,
    version: row.version,
    bridge: row.bridge,
  };
}
