import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { type DeviceAdmin, openDeviceAdmin } from '../../devices/device-admin.js';
import { openDeviceRegistry } from '../../devices/device-registry.js';
import { DEFAULT_KDF, generateToken, hashToken, verifyToken } from '../../devices/tokens.js';
import { tempDir } from '../../simulators/run-cli.js';
import { TEST_KDF } from './secure-gateway.js';

describe('tokens', () => {
  it('are random, at least 128 bits, and verify only against their own hash', async () => {
    const a = generateToken();
    const b = generateToken();
    expect(a).not.toBe(b);
    expect(Buffer.from(a, 'base64url').length).toBeGreaterThanOrEqual(16);
    const stored = await hashToken(a); // the default parameters, as the CLI uses them
    expect(stored.kdf).toEqual(DEFAULT_KDF);
    expect(stored.hash.includes(Buffer.from(a))).toBe(false);
    expect(await verifyToken(a, stored)).toBe(true);
    expect(await verifyToken(b, stored)).toBe(false);
    expect(await verifyToken(`${a}x`, stored)).toBe(false);
  });

  it('use a fresh salt per hash', async () => {
    const token = generateToken();
    const one = await hashToken(token, TEST_KDF);
    const two = await hashToken(token, TEST_KDF);
    expect(one.salt.equals(two.salt)).toBe(false);
    expect(one.hash.equals(two.hash)).toBe(false);
  });
});

describe('device admin and registry', () => {
  let admin: DeviceAdmin | undefined;
  afterEach(() => admin?.close());

  it('adds, rotates and revokes; the registry sees each change by version', async () => {
    const path = join(tempDir('gw-reg-'), 'g.db');
    admin = openDeviceAdmin({ path, kdf: TEST_KDF, now: () => 1000 });
    const first = await admin.add('d1', { metrics: ['temperature'], note: 'attic' });
    const registry = openDeviceRegistry({ path });
    expect(registry.isRegistered('d1')).toBe(true);
    expect(registry.poll()).toEqual([]);

    const row = registry.lookup('d1')!;
    expect(row.allowedMetrics).toEqual(['temperature']);
    expect(row.note).toBe('attic');
    expect(await verifyToken(first, row.token)).toBe(true);

    const second = await admin.rotate('d1');
    const rotated = registry.lookup('d1')!;
    expect(rotated.version).toBeGreaterThan(row.version);
    expect(await verifyToken(first, rotated.token)).toBe(false);
    expect(await verifyToken(second, rotated.token)).toBe(true);

    await admin.add('d2');
    expect(registry.isRegistered('d2')).toBe(false); // until the next poll
    admin.revoke('d1');
    const changes = registry.poll();
    expect(changes.map((c) => [c.deviceId, c.revokedAt !== null])).toEqual([
      ['d2', false],
      ['d1', true],
    ]);
    expect(registry.isRegistered('d2')).toBe(true);
    expect(registry.poll()).toEqual([]);
    registry.close();
  });

  it('refuses duplicates, unknown ids and names outside the topic alphabet, by code', async () => {
    const path = join(tempDir('gw-reg-'), 'g.db');
    admin = openDeviceAdmin({ path, kdf: TEST_KDF });
    await admin.add('d1');
    await expect(admin.add('d1')).rejects.toMatchObject({ code: 'GW_ERR_DEVICE_EXISTS' });
    await expect(admin.rotate('nope')).rejects.toMatchObject({ code: 'GW_ERR_DEVICE_UNKNOWN' });
    expect(() => admin!.revoke('nope')).toThrow(expect.objectContaining({ code: 'GW_ERR_DEVICE_UNKNOWN' }));
    await expect(admin.add('a/b')).rejects.toMatchObject({ code: 'GW_ERR_CLI_USAGE' });
    await expect(admin.add('ok', { metrics: ['bad metric'] })).rejects.toMatchObject({
      code: 'GW_ERR_CLI_USAGE',
    });
  });

  it('stores no token in clear, and the scrypt parameters with each hash', async () => {
    const path = join(tempDir('gw-reg-'), 'g.db');
    admin = openDeviceAdmin({ path, kdf: TEST_KDF });
    const token = await admin.add('d1');
    admin.close();
    admin = undefined;
    const db = new Database(path, { readonly: true });
    const file = db.prepare('SELECT * FROM device_credentials').all();
    db.close();
    expect(JSON.stringify(file)).not.toContain(token);
    expect(JSON.parse((file[0] as { kdf: string }).kdf)).toEqual(TEST_KDF);
  });
});
