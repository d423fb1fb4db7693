// One onRequest hook for the HTTP listeners: the bearer token in front of
// /api, and which routes a listener serves when /healthz, /readyz and
// /metrics have a listener of their own (--metrics-host).
// It judges the route fastify matched, not the raw URL, so encodings like
// /%61pi or //api cannot slip past it.
// Without a token, /api on loopback would answer any page a browser on this
// host opens through DNS rebinding (evil.example resolving to 127.0.0.1), so
// it then answers only Host names that no outsider controls.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../../core/errors.js';
import { hostAllowed } from './host-header.js';

export const OPS_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/** all: one listener serves everything; public: all but the ops routes; ops: only them */
export type HttpRole = 'all' | 'public' | 'ops';

export interface HttpGuardOptions {
  role: HttpRole;
  /** whether /api needs the token (devices/policy.ts apiTokenRequired) */
  apiTokenRequired: boolean;
  /** '' when none is configured: then a required token can never match and /api answers 401 */
  apiToken: string;
  /** --host; without a token, /api answers only a Host of localhost, an IP literal or this */
  host?: string;
}

export type OnRequestHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

export function createHttpGuard(options: HttpGuardOptions): OnRequestHook {
  const expected = options.apiToken === '' ? undefined : digest(options.apiToken);
  return async (request, reply) => {
    const route = request.routeOptions.url;
    if (route === undefined) return; // fastify answers 404 itself
    const ops = OPS_ROUTES.has(route);
    if ((options.role === 'public' && ops) || (options.role === 'ops' && !ops)) {
      const err = new GatewayError('GW_ERR_ROUTE_NOT_SERVED');
      await reply.code(404).send({ error: { code: err.code, message: err.message } });
      return;
    }
    if (!(route === '/api' || route.startsWith('/api/'))) return;
    if (options.apiToken === '' && !hostAllowed(request.headers.host, options.host)) {
      const err = new GatewayError('GW_ERR_API_HOST_REJECTED', [JSON.stringify(request.headers.host ?? '')]);
      await reply.code(403).send({ error: { code: err.code, message: err.message } });
      return;
    }
    if (!options.apiTokenRequired) return;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    // Compare digests: equal lengths for timingSafeEqual, and no early exit on a prefix.
    if (expected !== undefined && match !== null && timingSafeEqual(digest(match[1]!), expected)) return;
    const err = new GatewayError('GW_ERR_API_UNAUTHORIZED');
    await reply
      .code(401)
      .header('www-authenticate', 'Bearer realm="gateway"')
      .send({ error: { code: err.code, message: err.message } });
  };
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
