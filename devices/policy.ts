// The anonymous-client policy, the Mosquitto 2 way: a gateway reachable only
// from this machine admits anonymous clients (a development convenience);
// reachable from anywhere else, it requires credentials unless the operator
// says otherwise with --allow-anonymous.

import { isIP } from 'node:net';

export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

export type AnonymousPolicy =
  | { allowed: true; reason: 'loopback' | 'allow-anonymous' }
  | { allowed: false; reason: 'non-loopback' };

/** hosts: every address an MQTT listener binds to. */
export function anonymousPolicy(hosts: readonly string[], allowAnonymous: boolean): AnonymousPolicy {
  if (hosts.every(isLoopbackHost)) return { allowed: true, reason: 'loopback' };
  if (allowAnonymous) return { allowed: true, reason: 'allow-anonymous' };
  return { allowed: false, reason: 'non-loopback' };
}

/** /api needs the bearer token when HTTP is reachable from other machines, or whenever one is set. */
export function apiTokenRequired(httpHost: string, apiToken: string): boolean {
  return apiToken !== '' || !isLoopbackHost(httpHost);
}
