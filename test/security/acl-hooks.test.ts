// The aedes hooks without a broker, for paths a live client cannot reach:
// a will that aedes publishes with a null client (its session already gone).

import type { Client, PublishPacket } from 'aedes';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { anonymousPolicy } from '../../devices/policy.js';
import { createAclHooks } from '../../gateway/auth/acl-hooks.js';
import { ClientIdentities } from '../../gateway/auth/client-identities.js';
import { validateMessage } from '../../pipelines/validate-telemetry.js';

const will = (topic: string) =>
  ({ cmd: 'publish', topic, payload: Buffer.from('1'), qos: 1, retain: false, dup: false }) as PublishPacket;

function hooks(hosts: string[]) {
  const passed: string[] = [];
  const acl = createAclHooks({
    identities: new ClientIdentities(),
    registry: { isRegistered: (id) => id === 'alpha' },
    policy: anonymousPolicy(hosts, false),
    next: (_c, packet, cb) => {
      passed.push(packet.topic);
      cb(null);
    },
    logger: pino({ level: 'silent' }),
  });
  const decide = (client: Client | null, topic: string) =>
    new Promise<string | undefined>((resolve) =>
      acl.authorizePublish(client, will(topic), (err) =>
        resolve((err as { code?: string } | null | undefined)?.code),
      ),
    );
  return { decide, passed };
}

describe('authorizePublish with a null client (a will of a vanished session)', () => {
  it('refuses everything when authentication is required: the identity is unknown', async () => {
    const { decide, passed } = hooks(['0.0.0.0']);
    expect(await decide(null, 'devices/alpha/telemetry')).toBe('GW_ERR_ACL_PUBLISH');
    expect(await decide(null, 'devices/other/telemetry')).toBe('GW_ERR_ACL_PUBLISH');
    expect(passed).toEqual([]);
  });

  it('applies the anonymous rules on loopback', async () => {
    const { decide, passed } = hooks(['127.0.0.1']);
    expect(await decide(null, 'devices/alpha/telemetry')).toBe('GW_ERR_ACL_PUBLISH');
    expect(await decide(null, '$SYS/x')).toBe('GW_ERR_SYS_TOPIC');
    expect(await decide(null, 'devices/other/telemetry')).toBeUndefined();
    expect(passed).toEqual(['devices/other/telemetry']);
  });

  it('refuses a client that never authenticated (no identity recorded)', async () => {
    const { decide } = hooks(['127.0.0.1']);
    expect(await decide({ id: 'x' } as Client, 'devices/other/telemetry')).toBe('GW_ERR_ACL_PUBLISH');
  });
});

describe('validate stage with allowed metrics', () => {
  const limits = { maxPayloadBytes: 1000, maxReadingsPerMessage: 10, maxFutureMs: 60_000, maxPastMs: 60_000 };
  const message = (allowed?: string[]) => ({
    topic: 'devices/d/telemetry',
    payload: new Uint8Array(),
    qos: 1 as const,
    receivedAt: 1_000_000,
    settle: () => {},
    ...(allowed === undefined ? {} : { allowedMetrics: new Set(allowed) }),
  });

  it('keeps allowed metrics and rejects the others with GW_ERR_METRIC_NOT_ALLOWED', () => {
    const parsed = validateMessage({ message: message(['t']), deviceId: 'd', body: { t: 1, h: 2 } }, limits);
    expect(parsed.readings.map((r) => r.metric)).toEqual(['t']);
    expect(parsed.rejections).toEqual([{ index: 0, metric: 'h', code: 'GW_ERR_METRIC_NOT_ALLOWED' }]);
  });

  it('refuses a per-metric message for a metric not allowed', () => {
    const parsed = validateMessage({ message: message(['t']), deviceId: 'd', metric: 'h', body: 2 }, limits);
    expect(parsed.messageError).toBe('GW_ERR_METRIC_NOT_ALLOWED');
  });

  it('allows any metric without a list', () => {
    const parsed = validateMessage({ message: message(), deviceId: 'd', body: { t: 1, h: 2 } }, limits);
    expect(parsed.readings).toHaveLength(2);
  });
});
