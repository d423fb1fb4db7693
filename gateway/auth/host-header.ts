// Which names in a Host header a DNS-rebinding page cannot use. Such a page
// (evil.example re-resolved to 127.0.0.1) reaches a loopback listener with its
// own name in Host; localhost, IP literals and the operator's --host are the
// names no outsider can point here (used by the /api guard and the WebSocket
// Origin check).

import { isIP } from 'node:net';

export interface HostHeader {
  /** lower-cased, IPv6 without brackets */
  hostname: string;
  /** '' when the header names none */
  port: string;
}

/** "127.0.0.1:8080", "[::1]:8080", "localhost"; undefined when missing or malformed */
export function parseHostHeader(header: string | undefined): HostHeader | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d*))?$/.exec((header ?? '').trim().toLowerCase());
  if (m === null) return undefined;
  return { hostname: m[1] ?? m[2]!, port: m[3] ?? '' };
}

/** localhost, an IP literal, or the configured --host */
export function isLocalName(hostname: string, configuredHost = ''): boolean {
  const name = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (name === 'localhost' || isIP(name) !== 0) return true;
  return (
    name ===
    configuredHost
      .trim()
      .toLowerCase()
      .replace(/^\[|\]$/g, '')
  );
}

/** Whether a Host header names this machine in a way a rebinding page cannot; none at all is refused. */
export function hostAllowed(header: string | undefined, configuredHost = ''): boolean {
  const host = parseHostHeader(header);
  return host !== undefined && isLocalName(host.hostname, configuredHost);
}
