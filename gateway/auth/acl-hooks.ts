// The per-packet hooks: publish (wills included) and subscribe, judged by the
// identity fixed at CONNECT. The ACL runs first; only an allowed publish
// reaches the ingest authorizer, which holds the ack until commit.

import type { AedesOptions, Client } from 'aedes';
import type { Logger } from 'pino';
import { type ErrorCode, GatewayError } from '../../core/errors.js';
import { canPublish, canSubscribe, type Identity } from '../../devices/acl.js';
import type { DeviceRegistry } from '../../devices/device-registry.js';
import type { AnonymousPolicy } from '../../devices/policy.js';
import type { ClientIdentities } from './client-identities.js';

type AuthorizePublish = NonNullable<AedesOptions['authorizePublish']>;
type AuthorizeSubscribe = NonNullable<AedesOptions['authorizeSubscribe']>;

export interface AclHookDeps {
  identities: ClientIdentities;
  registry: Pick<DeviceRegistry, 'isRegistered'>;
  policy: AnonymousPolicy;
  /** what an allowed publish goes on to: the ingest authorizer */
  next: AuthorizePublish;
  /** what an allowed subscription goes on to (e.g. a per-client limit) */
  nextSubscribe?: AuthorizeSubscribe;
  logger: Logger;
  onRefused?: (code: ErrorCode) => void;
}

export interface AclHooks {
  authorizePublish: AuthorizePublish;
  authorizeSubscribe: AuthorizeSubscribe;
}

export function createAclHooks(deps: AclHookDeps): AclHooks {
  const { identities, registry, policy, next, logger } = deps;
  const onRefused = deps.onRefused ?? (() => {});
  const nextSubscribe: AuthorizeSubscribe = deps.nextSubscribe ?? ((_c, sub, cb) => cb(null, sub));

  // aedes publishes a will with a null client when the session is gone
  // (aedes.js _clearWills). Its identity is unknown then, so it counts as
  // anonymous: allowed only where anonymous clients are. Wills were already
  // checked against the device's ACL at CONNECT.
  const identityOf = (client: Client | null): Identity | undefined =>
    client === null ? (policy.allowed ? { kind: 'anonymous' } : undefined) : identities.get(client);

  return {
    authorizePublish(client, packet, callback) {
      const identity = identityOf(client);
      if (identity === undefined || !canPublish(identity, packet.topic, registry.isRegistered)) {
        const who = identity?.kind === 'device' ? identity.deviceId : 'an anonymous client';
        const code = packet.topic.startsWith('$SYS/') ? 'GW_ERR_SYS_TOPIC' : 'GW_ERR_ACL_PUBLISH';
        logger.info({ clientId: client?.id, topic: packet.topic, code }, 'publish refused');
        onRefused(code);
        // aedes closes the connection without an ack [MQTT-3.3.5-2 allows either].
        return callback(new GatewayError(code, [packet.topic, who]));
      }
      next(client, packet, callback);
    },
    authorizeSubscribe(client, subscription, callback) {
      const identity = identities.get(client);
      if (identity === undefined || !canSubscribe(identity, subscription.topic)) {
        logger.info({ clientId: client.id, topic: subscription.topic }, 'subscribe refused');
        onRefused('GW_ERR_ACL_SUBSCRIBE');
        // A null subscription is a SUBACK 0x80 for this filter only [MQTT-3.9.3]; the session lives on.
        return callback(null, null);
      }
      nextSubscribe(client, subscription, callback);
    },
  };
}
