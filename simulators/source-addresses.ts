// One source IP gives about 28k ephemeral ports towards one broker port, so
// past that many devices on loopback the connections must come from several
// source addresses (all of 127.0.0.0/8 is local on Linux).

/** Above this many devices per source address the ephemeral ports run out. */
const DEVICES_PER_SOURCE_ADDRESS = 25_000;

function isLoopback(host: string): boolean {
  return host === 'localhost' || /^127\./.test(host);
}

export function sourceAddresses(host: string, devices: number): string[] {
  if (!isLoopback(host) || devices <= DEVICES_PER_SOURCE_ADDRESS) return [];
  const count = Math.min(254, Math.ceil(devices / DEVICES_PER_SOURCE_ADDRESS));
  return Array.from({ length: count }, (_, i) => `127.0.0.${i + 1}`);
}
