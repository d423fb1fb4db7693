// The server-side key of the token hashes (devices/tokens.ts): 32 random
// bytes in a file beside the database, `<db>.pepper`, mode 0600.
//
// Beside the database rather than in it: a copy of the database alone (a
// backup, a file handed to someone for debugging) then cannot even confirm
// a token, and the gateway's storage schema stays the writer's business.
// The price: back the file up with the database; without it no peppered
// token verifies. Made once, by whichever of the devices CLI or the gateway
// needs it first, and never replaced while a row was hashed with it.

import { createHash, randomBytes } from 'node:crypto';
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { GatewayError } from '../core/errors.js';

const KEY_BYTES = 32;

export interface Pepper {
  key: Buffer;
  /** stored with each hash, so a hash made under another key is recognised as such */
  id: string;
  path: string;
}

export function pepperPath(dbPath: string): string {
  return `${dbPath}.pepper`;
}

/** The pepper beside `dbPath`, or undefined when there is no file. */
export function readPepper(dbPath: string): Pepper | undefined {
  const path = pepperPath(dbPath);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const key = Buffer.from(text.trim(), 'hex');
  if (key.length !== KEY_BYTES) throw new RangeError(`${path} does not hold a ${KEY_BYTES}-byte hex key`);
  return { key, id: pepperId(key), path };
}

/**
 * The pepper beside `dbPath`, made now if there is none. `inUse` are the
 * pepper ids the registry's rows were hashed with: when the file is missing
 * or holds another key while rows need one, making or using a new one would
 * silently lock those devices out, so it refuses with GW_ERR_PEPPER_MISSING.
 */
export function loadPepper(dbPath: string, inUse: ReadonlyMap<string, number>): Pepper {
  const pepper = readPepper(dbPath) ?? createPepper(dbPath, inUse);
  for (const [id, rows] of inUse) {
    if (id !== pepper.id) throw new GatewayError('GW_ERR_PEPPER_MISSING', [pepper.path, rows, id]);
  }
  return pepper;
}

function createPepper(dbPath: string, inUse: ReadonlyMap<string, number>): Pepper {
  const path = pepperPath(dbPath);
  const [[id, rows] = ['', 0]] = inUse;
  if (rows > 0) throw new GatewayError('GW_ERR_PEPPER_MISSING', [path, rows, id]);
  // Written whole under a temporary name, then linked into place: link fails
  // if the name exists, so two processes starting at once agree on one key.
  const key = randomBytes(KEY_BYTES);
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
  return readPepper(dbPath)!;
}

function pepperId(key: Buffer): string {
  // Names the key without revealing it: 64 bits of its SHA-256.
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}
