// Tokens hashed with scrypt by earlier versions keep working, and are
// rehashed under the pepper on their first good CONNECT; the session that
// proved them is not closed for it (the row's version does not change).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeviceAdmin, openDeviceAdmin } from '../../devices/device-admin.js';
import {
  connackCode,
  connectClient,
  type SecureGateway,
  startSecureGateway,
  TEST_KDF,
} from './secure-gateway.js';

describe('legacy scrypt tokens', () => {
  let gw: SecureGateway & { tokens: Map<string, string> };
  let legacy: DeviceAdmin;
  let url: string;
  const upgrades: Array<(rows: number) => void> = [];
  const nextUpgrade = () => new Promise<number>((resolve) => upgrades.push(resolve));

  beforeAll(async () => {
    gw = await startSecureGateway({}, [], {
      onUpgraded: (rows) => {
        for (const resolve of upgrades.splice(0)) resolve(rows);
      },
    });
    legacy = openDeviceAdmin({ path: gw.db, legacyScrypt: TEST_KDF });
    url = `mqtt://127.0.0.1:${gw.gateway.mqtt.port}`;
  });
  afterAll(async () => {
    legacy.close();
    await gw.close();
  });

  it('connect, are rehashed to HMAC at the same version, and connect again on the fast path', async () => {
    const token = await legacy.add('veteran');
    const before = gw.registry.lookup('veteran')!;
    expect(before.token.kdf.alg).toBe('scrypt');

    const upgraded = nextUpgrade();
    const client = await connectClient(url, { clientId: 'veteran', username: 'veteran', password: token });
    expect(await upgraded).toBe(1);
    const after = gw.registry.lookup('veteran')!;
    expect(after.token.kdf.alg).toBe('hmac-sha256');
    expect(after.version).toBe(before.version);
    // the session that proved the token is still served
    await client.publishAsync('devices/veteran/telemetry', JSON.stringify({ t: 1 }), { qos: 1 });
    await client.endAsync();

    expect(gw.registry.tokens.verify(token, after.token)).toBe(true);
    expect(await connackCode(url, { clientId: 'veteran', username: 'veteran', password: token })).toBe(0);
    expect(await connackCode(url, { clientId: 'veteran', username: 'veteran', password: `${token}x` })).toBe(
      4,
    );
  });

  it('refuse a wrong token without rehashing anything', async () => {
    const token = await legacy.add('stranger');
    expect(
      await connackCode(url, { clientId: 'stranger', username: 'stranger', password: `x${token}` }),
    ).toBe(4);
    expect(gw.registry.lookup('stranger')!.token.kdf.alg).toBe('scrypt');
  });
});
