// Ends sessions whose credential changed after they authenticated: revoked,
// or rotated (the old token stopped working, so must the session it opened).
// Polls the registry rather than checking on every publish: an indexed
// `version > ?` read is microseconds when nothing changed, where a lookup per
// message would cost the ingest path on every packet.

import type { Logger } from 'pino';
import type { DeviceRegistry } from '../../devices/device-registry.js';
import type { ClientIdentities } from './client-identities.js';

export interface RevocationSweeperDeps {
  registry: Pick<DeviceRegistry, 'poll'>;
  identities: ClientIdentities;
  logger: Logger;
  intervalMs: number;
}

export interface RevocationSweeper {
  /** One sweep now; returns how many sessions it closed. */
  sweep(): number;
  stop(): void;
}

export function startRevocationSweeper(deps: RevocationSweeperDeps): RevocationSweeper {
  const { registry, identities, logger } = deps;
  const sweep = () => {
    let closed = 0;
    for (const change of registry.poll()) {
      for (const client of identities.clientsOf(change.deviceId)) {
        const identity = identities.get(client);
        if (identity?.kind !== 'device' || identity.version >= change.version) continue;
        logger.info(
          { clientId: client.id, deviceId: change.deviceId, revoked: change.revokedAt !== null },
          'closing a session whose credential changed',
        );
        client.close();
        closed++;
      }
    }
    return closed;
  };
  const timer = setInterval(() => {
    try {
      sweep();
    } catch (err) {
      logger.error({ err }, 'registry poll failed');
    }
  }, deps.intervalMs);
  timer.unref();
  return { sweep, stop: () => clearInterval(timer) };
}
