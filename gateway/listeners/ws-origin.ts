// Which web pages may open MQTT over WebSocket. A browser sends an Origin
// header on every WebSocket upgrade and lets any page connect anywhere,
// loopback included; on loopback the gateway admits anonymous clients, so
// without this check any page open on the gateway host could subscribe to #
// and publish. Clients outside a browser (mqtt.js in Node, paho) send no
// Origin and are not affected (RFC 6455 §4.1 and §10.2).

import { GatewayError } from '../errors.js';

export type OriginCheck = (origin: string | undefined) => GatewayError | undefined;

/**
 * Parses --ws-allowed-origins ("https://a.example, http://localhost:3000")
 * into a check. Each entry must be a bare origin: scheme, host, optional port.
 */
export function createOriginCheck(allowedOrigins: string): OriginCheck {
  const allowed = new Set<string>();
  for (const entry of allowedOrigins.split(',')) {
    const text = entry.trim();
    if (text === '') continue;
    const origin = normalize(text);
    if (origin === undefined)
      throw new GatewayError('GW_ERR_CONFIG_INVALID', [
        `wsAllowedOrigins: "${text}" is not an origin like https://app.example.com`,
      ]);
    allowed.add(origin);
  }
  return (origin) => {
    if (origin === undefined) return undefined;
    const normalized = normalize(origin);
    return normalized !== undefined && allowed.has(normalized)
      ? undefined
      : new GatewayError('GW_ERR_WS_ORIGIN', [JSON.stringify(origin)]);
  };
}

/** scheme://host[:port], lower-cased, default port dropped; undefined for "null" or garbage */
function normalize(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  // Opaque origins (file:, data:, sandboxed frames) serialize as "null".
  if (url.origin === 'null') return undefined;
  // Only a bare origin: a path, query or credentials mean it is not one.
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  return url.origin;
}
