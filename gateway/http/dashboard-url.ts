import { isIPv6 } from 'node:net';
import type { BoundAddress } from '../listen.js';

/**
 * Where a browser finds the dashboard served on `http`: a wildcard bind
 * (0.0.0.0, ::) names no address to visit, so this machine's own name stands in.
 */
export function dashboardUrl(http: BoundAddress): string {
  const wildcard = http.host === '0.0.0.0' || http.host === '::';
  const host = wildcard ? 'localhost' : isIPv6(http.host) ? `[${http.host}]` : http.host;
  return `http://${host}:${http.port}/`;
}
