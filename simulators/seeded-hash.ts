// Stateless hashing: every "random" number in the sensor models is a pure
// function of its inputs, so a (seed, device, time) triple always yields the
// same value, no matter in which order or how often it is asked for.

const TWO_32 = 4294967296;

// murmur3's body and finalizer: cheap, and good enough avalanche for test data.
function mix(h: number, k: number): number {
  let x = Math.imul(k, 0xcc9e2d51);
  x = (x << 15) | (x >>> 17);
  x = Math.imul(x, 0x1b873593);
  let y = h ^ x;
  y = (y << 13) | (y >>> 19);
  return (Math.imul(y, 5) + 0xe6546b64) | 0;
}

function finish(h: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** A 32-bit hash of integers; epoch milliseconds (beyond 2^32) keep their high bits. */
export function hash32(...parts: readonly number[]): number {
  let h = 0x9747b28c;
  for (const part of parts) {
    const n = Math.trunc(part);
    h = mix(h, n % TWO_32);
    h = mix(h, Math.floor(n / TWO_32));
  }
  return finish(h ^ parts.length);
}

/** Uniform in [0, 1). */
export function unit(...parts: readonly number[]): number {
  return hash32(...parts) / TWO_32;
}

/** Standard normal (Box-Muller over two independent hashes). */
export function gaussian(...parts: readonly number[]): number {
  const u1 = (hash32(...parts, 0x51ed) + 1) / (TWO_32 + 1);
  const u2 = unit(...parts, 0x2f0f);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** FNV-1a, to turn metric names into hash inputs. */
export function stringHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
