// Which web pages may open MQTT over WebSocket. A browser sends an Origin
// header on every WebSocket upgrade and lets any page connect anywhere,
// loopback included; on loopback the gateway admits anonymous clients, so
// without this check any page open on the gateway host could subscribe to #
// and publish (RFC 6455 §10.2). Admitted: no Origin (mqtt.js in Node and most
// clients outside a browser), an origin in --ws-allowed-origins, and the
// listener's own address (Python paho 1.x sends https://{host}:{port} of the
// URL it connects to). No browser page can have that last origin: this
// listener serves no pages, and a rebinding name is not accepted as its own.

import { GatewayError } from '../../core/errors.js';
import { isLocalName, parseHostHeader } from '../auth/host-header.js';

/** origin: the upgrade's Origin header; host: its Host header */
export type OriginCheck = (origin: string | undefined, host: string | undefined) => GatewayError | undefined;

/**
 * Parses --ws-allowed-origins ("https://a.example, http://localhost:3000")
 * into a check; each entry must be a bare origin (scheme, host, optional port).
 * configuredHost is --host, a name of the listener besides localhost and IPs.
 */
export function createOriginCheck(allowedOrigins: string, configuredHost = ''): OriginCheck {
  const allowed = new Set<string>();
  for (const entry of allowedOrigins.split(',')) {
    const text = entry.trim();
    if (text === '') continue;
    const url = parseOrigin(text);
    if (url === undefined)
      throw new GatewayError('GW_ERR_CONFIG_INVALID', [
        `wsAllowedOrigins: "${text}" is not an origin like https://app.example.com`,
      ]);
    allowed.add(url.origin);
  }
  return (origin, host) => {
    if (origin === undefined) return undefined;
    const url = parseOrigin(origin);
    if (url !== undefined && (allowed.has(url.origin) || isOwnAddress(url, host, configuredHost)))
      return undefined;
    return new GatewayError('GW_ERR_WS_ORIGIN', [JSON.stringify(origin)]);
  };
}

/** The Origin names the very host and port the upgrade was sent to, by a name no rebinding page can use. */
function isOwnAddress(url: URL, hostHeader: string | undefined, configuredHost: string): boolean {
  const host = parseHostHeader(hostHeader);
  if (host === undefined || !isLocalName(host.hostname, configuredHost)) return false;
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80';
  return hostname === host.hostname && port === (host.port === '' ? '80' : host.port);
}

/** A bare http(s) origin, or undefined ("null", garbage, a path or query, credentials). */
function parseOrigin(text: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  // Opaque origins (file:, data:, sandboxed frames) serialize as "null".
  if (url.origin === 'null') return undefined;
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  return url;
}
