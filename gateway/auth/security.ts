// Wires device identity into the broker: the CONNECT hooks, the ACL around
// the ingest authorizer, and the poll that ends revoked sessions. The
// composition (gateway.ts) gets one object and hands its hooks to aedes.

import type { AedesOptions, Client } from 'aedes';
import type { Logger } from 'pino';
import type { ErrorCode } from '../../core/errors.js';
import type { DeviceRegistry } from '../../devices/device-registry.js';
import { type AnonymousPolicy, anonymousPolicy, apiTokenRequired } from '../../devices/policy.js';
import type { GatewayConfig } from '../config.js';
import { createAclHooks } from './acl-hooks.js';
import { ClientIdentities } from './client-identities.js';
import { createConnectAuth } from './connect-authenticator.js';
import { createHttpGuard, type HttpRole, type OnRequestHook } from './http-guard.js';
import { type RevocationSweeper, startRevocationSweeper } from './revocation-sweeper.js';

type AuthorizePublish = NonNullable<AedesOptions['authorizePublish']>;
type AuthorizeSubscribe = NonNullable<AedesOptions['authorizeSubscribe']>;

/** host: the address every MQTT listener (and the HTTP API) binds to */
export type SecurityConfig = Pick<GatewayConfig, 'host' | 'allowAnonymous' | 'apiToken' | 'authRecheckMs'>;

export interface GatewaySecurity {
  policy: AnonymousPolicy;
  /** aedes options: preConnect, authenticate, authorizePublish, authorizeSubscribe */
  brokerHooks(next: {
    publish: AuthorizePublish;
    subscribe?: AuthorizeSubscribe;
  }): Pick<AedesOptions, 'preConnect' | 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'>;
  /** for the ingest authorizer: the metrics a client's device may send, if limited */
  allowedMetrics(client: Client | null): ReadonlySet<string> | undefined;
  /** The onRequest hook of an HTTP listener in this role: /api's bearer token, which routes it serves. */
  httpGuard(role: HttpRole): OnRequestHook;
  /** Starts polling the registry for revocations; call once listening. */
  start(): void;
  stop(): void;
}

export function createGatewaySecurity(deps: {
  config: SecurityConfig;
  registry: DeviceRegistry;
  logger: Logger;
  /** each refusal's code, for gateway_auth_refusals_total */
  onRefused?: (code: ErrorCode) => void;
}): GatewaySecurity {
  const { config, registry, logger } = deps;
  const onRefused = deps.onRefused ?? (() => {});
  const policy = anonymousPolicy([config.host], config.allowAnonymous);
  const identities = new ClientIdentities();
  let sweeper: RevocationSweeper | undefined;

  // Said loudly, once, at start: an operator must not miss either case.
  if (policy.reason === 'allow-anonymous') {
    logger.warn(
      { host: config.host },
      'ANONYMOUS MQTT CLIENTS ARE ALLOWED on a non-loopback address (--allow-anonymous): anyone who can reach this port can publish',
    );
    process.stderr.write(
      `gateway: WARNING: anonymous MQTT clients are allowed on ${config.host} (--allow-anonymous)\n`,
    );
  } else if (policy.reason === 'non-loopback') {
    logger.info(
      { host: config.host, registeredDevices: registry.size },
      'MQTT listeners are not on loopback: clients must authenticate (npm run devices -- add <id>)',
    );
  }
  if (apiTokenRequired(config.host, config.apiToken) && config.apiToken === '') {
    logger.warn(
      { host: config.host },
      'HTTP is not on loopback and no --api-token is set: /api answers 401 to everyone',
    );
  }

  return {
    policy,
    brokerHooks(next) {
      const connect = createConnectAuth({ registry, policy, identities, logger, onRefused });
      const acl = createAclHooks({
        identities,
        registry,
        policy,
        next: next.publish,
        onRefused,
        ...(next.subscribe === undefined ? {} : { nextSubscribe: next.subscribe }),
        logger,
      });
      return { ...connect, ...acl };
    },
    httpGuard(role) {
      return createHttpGuard({
        role,
        apiTokenRequired: apiTokenRequired(config.host, config.apiToken),
        apiToken: config.apiToken,
        host: config.host,
      });
    },
    allowedMetrics(client) {
      if (client === null) return undefined;
      const identity = identities.get(client);
      return identity?.kind === 'device' ? (identity.allowedMetrics ?? undefined) : undefined;
    },
    start() {
      sweeper ??= startRevocationSweeper({ registry, identities, logger, intervalMs: config.authRecheckMs });
    },
    stop() {
      sweeper?.stop();
    },
  };
}
