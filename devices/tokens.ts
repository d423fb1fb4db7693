// Device tokens: random, shown once, stored as a keyed hash.
//
// A token is 256 random bits, so nobody guesses it and nobody brute-forces
// its hash: a slow KDF (scrypt) buys nothing against that and costs tens of
// ms per CONNECT (2 minutes of CPU for a 5000-device reconnect). Tokens are
// stored as HMAC-SHA-256 under a server-side pepper (devices/pepper.ts),
// checked in microseconds. A stolen database without the pepper file does
// not even let anyone confirm a token. Rows hashed with scrypt by earlier
// versions still verify (on libuv's pool) and are rehashed on their next
// successful CONNECT. The algorithm is stored with each hash.

import { createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** 256 bits: far past guessing, so the hash only has to resist a stolen database. */
const TOKEN_BYTES = 32;
const SALT_BYTES = 16;

/** The hash of tokens issued now. `pepper`: the id of the pepper key (devices/pepper.ts). */
export interface HmacParams {
  alg: 'hmac-sha256';
  pepper: string;
}

/** Tokens issued before the HMAC hash; verified as they are, then rehashed. */
export interface ScryptParams {
  alg: 'scrypt';
  N: number;
  r: number;
  p: number;
  keylen: number;
}

export type KdfParams = HmacParams | ScryptParams;

/** N=2^14, r=8: what earlier versions used (OWASP's scrypt floor, ~16 MiB and tens of ms per hash). */
export const LEGACY_SCRYPT: ScryptParams = { alg: 'scrypt', N: 16384, r: 8, p: 1, keylen: 32 };

export interface TokenHash {
  hash: Buffer;
  /** scrypt's per-token salt; empty for HMAC (the token itself is random) */
  salt: Buffer;
  kdf: KdfParams;
}

/** Hashes and checks tokens under one pepper. */
export interface TokenHasher {
  /** the id stored with each hash it makes */
  readonly pepperId: string;
  hash(token: string | Buffer): TokenHash;
  /**
   * Checks a peppered hash at once, in constant time; a hash under another
   * pepper never matches. undefined for a legacy scrypt hash: see verifySlow.
   */
  verify(token: string | Buffer, stored: TokenHash): boolean | undefined;
  /** Checks a legacy scrypt hash, on libuv's pool (tens of ms); any other hash as verify does. */
  verifySlow(token: string | Buffer, stored: TokenHash): Promise<boolean>;
}

export function generateToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

export function createTokenHasher(pepper: { key: Buffer; id: string }): TokenHasher {
  const kdf: HmacParams = { alg: 'hmac-sha256', pepper: pepper.id };
  const mac = (token: string | Buffer) => createHmac('sha256', pepper.key).update(token).digest();
  const verify = (token: string | Buffer, stored: TokenHash): boolean | undefined => {
    if (stored.kdf.alg === 'scrypt') return undefined;
    if (stored.kdf.pepper !== pepper.id) return false;
    const digest = mac(token);
    return digest.length === stored.hash.length && timingSafeEqual(digest, stored.hash);
  };
  return {
    pepperId: pepper.id,
    hash: (token) => ({ hash: mac(token), salt: Buffer.alloc(0), kdf }),
    verify,
    async verifySlow(token, stored) {
      if (stored.kdf.alg !== 'scrypt') return verify(token, stored) === true;
      return verifyScrypt(token, stored.hash, stored.salt, stored.kdf);
    },
  };
}

/** A scrypt hash as earlier versions made them: for tests and tools that need a legacy row. */
export async function hashTokenScrypt(token: string, kdf: ScryptParams = LEGACY_SCRYPT): Promise<TokenHash> {
  const salt = randomBytes(SALT_BYTES);
  return { hash: await derive(token, salt, kdf), salt, kdf };
}

async function verifyScrypt(
  token: string | Buffer,
  hash: Buffer,
  salt: Buffer,
  kdf: ScryptParams,
): Promise<boolean> {
  const derived = await derive(token, salt, kdf);
  return derived.length === hash.length && timingSafeEqual(derived, hash);
}

export function parseKdf(json: string): KdfParams {
  const v = JSON.parse(json) as Record<string, unknown>;
  if (v.alg === 'hmac-sha256' && typeof v.pepper === 'string' && v.pepper !== '')
    return { alg: 'hmac-sha256', pepper: v.pepper };
  if (v.alg === 'scrypt' && isPositive(v.N) && isPositive(v.r) && isPositive(v.p) && isPositive(v.keylen))
    return { alg: 'scrypt', N: v.N, r: v.r, p: v.p, keylen: v.keylen };
  throw new RangeError(`unsupported kdf parameters ${json}`);
}

function isPositive(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0;
}

function derive(token: string | Buffer, salt: Buffer, kdf: ScryptParams): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; leave headroom over node's 32 MiB default.
  const maxmem = 256 * kdf.N * kdf.r;
  return new Promise((resolve, reject) => {
    scrypt(token, salt, kdf.keylen, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}
