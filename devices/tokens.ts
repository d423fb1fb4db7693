// Device tokens: random, shown once, stored as scrypt hashes.
//
// node:crypto's scrypt is async and runs on libuv's thread pool, so a CONNECT
// storm costs thread-pool time, never event-loop time. The parameters are
// stored with each hash, so they can be raised later while old rows verify.

import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** 256 bits: far past guessing, so the hash only has to resist a stolen database. */
const TOKEN_BYTES = 32;
const SALT_BYTES = 16;

export interface KdfParams {
  alg: 'scrypt';
  N: number;
  r: number;
  p: number;
  keylen: number;
}

/** N=2^14, r=8: OWASP's scrypt floor; ~16 MiB and tens of ms per hash on this machine. */
export const DEFAULT_KDF: KdfParams = { alg: 'scrypt', N: 16384, r: 8, p: 1, keylen: 32 };

export interface TokenHash {
  hash: Buffer;
  salt: Buffer;
  kdf: KdfParams;
}

export function generateToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

export async function hashToken(token: string, kdf: KdfParams = DEFAULT_KDF): Promise<TokenHash> {
  const salt = randomBytes(SALT_BYTES);
  return { hash: await derive(token, salt, kdf), salt, kdf };
}

export async function verifyToken(token: string | Buffer, stored: TokenHash): Promise<boolean> {
  const derived = await derive(token, stored.salt, stored.kdf);
  return derived.length === stored.hash.length && timingSafeEqual(derived, stored.hash);
}

/**
 * A fast digest of a token that already passed scrypt, for the gateway's
 * in-memory reconnect cache. A 256-bit random token cannot be brute-forced
 * through SHA-256, so this weakens nothing; it spares a reconnect storm a
 * scrypt per device.
 */
export function tokenDigest(token: string | Buffer): Buffer {
  return createHash('sha256').update(token).digest();
}

export function parseKdf(json: string): KdfParams {
  const v = JSON.parse(json) as Partial<KdfParams>;
  if (
    v.alg !== 'scrypt' ||
    !isPositive(v.N) ||
    !isPositive(v.r) ||
    !isPositive(v.p) ||
    !isPositive(v.keylen)
  ) {
    throw new RangeError(`unsupported kdf parameters ${json}`);
  }
  return { alg: 'scrypt', N: v.N, r: v.r, p: v.p, keylen: v.keylen };
}

function isPositive(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0;
}

function derive(token: string | Buffer, salt: Buffer, kdf: KdfParams): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; leave headroom over node's 32 MiB default.
  const maxmem = 256 * kdf.N * kdf.r;
  return new Promise((resolve, reject) => {
    scrypt(token, salt, kdf.keylen, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}
