// A small seeded generator, so a failing property run can be replayed.
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values in the shapes sensors produce: offsets, noise, negatives, zeros, heavy tails. */
export function randomValue(rand: () => number, shape: number): number {
  switch (shape % 4) {
    case 0:
      return 1013 + (rand() - 0.5) * 2;
    case 1:
      return (rand() - 0.5) * 40;
    case 2:
      return rand() < 0.1 ? 0 : Math.round(rand() * 100) / 10;
    default:
      return Math.exp(rand() * 12 - 4);
  }
}
