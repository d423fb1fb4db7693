import type { Logger } from 'pino';
import { type DeviceRegistry, emptyDeviceRegistry } from '../../devices/device-registry.js';
import { createGatewaySecurity, type GatewaySecurity, type SecurityConfig } from '../auth/security.js';
import type { GatewayMetrics } from '../metrics.js';
import type { Started } from './lifecycle.js';

/**
 * Device identity and ACLs (gateway/auth/): CONNECT hooks, then the ACL in
 * front of the ingest authorizer and the subscription limit; the registry
 * is polled for revocations once the gateway serves.
 */
export function securityStep(deps: {
  config: SecurityConfig;
  /** without one, no device can authenticate */
  registry: DeviceRegistry | undefined;
  logger: Logger;
  metrics: Pick<GatewayMetrics, 'authRefused'>;
}): Started<{ security: GatewaySecurity }> {
  const security = createGatewaySecurity({
    config: deps.config,
    registry: deps.registry ?? emptyDeviceRegistry(),
    logger: deps.logger,
    onRefused: (code) => deps.metrics.authRefused(code),
  });
  return {
    provides: { security },
    open: () => security.start(),
    stop: { refuse: () => security.stop() },
  };
}
