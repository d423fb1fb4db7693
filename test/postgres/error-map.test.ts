import { describe, expect, it } from 'vitest';
import { gatewayCodeForPostgres } from '../../storage/postgres/error-map.js';
import { isPostgresUrl, redactUrl } from '../../storage/postgres/pg-url.js';

describe('gatewayCodeForPostgres', () => {
  it.each([
    ['53100', 'GW_ERR_STORAGE_FULL'],
    ['58030', 'GW_ERR_STORAGE_IO'],
    ['25006', 'GW_ERR_STORAGE_READONLY'],
    ['40P01', 'GW_ERR_STORAGE_BUSY'],
    ['53300', 'GW_ERR_STORAGE_BUSY'],
    ['53200', 'GW_ERR_STORAGE_BUSY'],
    ['57P01', 'GW_ERR_STORAGE_UNAVAILABLE'],
    ['08006', 'GW_ERR_STORAGE_UNAVAILABLE'],
    ['ECONNREFUSED', 'GW_ERR_STORAGE_UNAVAILABLE'],
    ['3D000', 'GW_ERR_STORAGE_OPEN'],
    ['28P01', 'GW_ERR_STORAGE_OPEN'],
    ['XX001', 'GW_ERR_STORAGE_CORRUPT'],
    ['23505', 'GW_ERR_STORAGE_WRITE'],
  ])('maps SQLSTATE %s to %s', (code, expected) => {
    expect(gatewayCodeForPostgres(Object.assign(new Error('x'), { code }))).toBe(expected);
  });
  it('maps a connection pg ended itself (no SQLSTATE) to GW_ERR_STORAGE_UNAVAILABLE', () => {
    expect(gatewayCodeForPostgres(new Error('Connection terminated unexpectedly'))).toBe(
      'GW_ERR_STORAGE_UNAVAILABLE',
    );
    expect(gatewayCodeForPostgres(new Error('something else'))).toBe('GW_ERR_STORAGE_WRITE');
  });
});

describe('--db values', () => {
  it('tells URLs from paths and hides passwords', () => {
    expect(isPostgresUrl('postgres://u@h/db')).toBe(true);
    expect(isPostgresUrl('postgresql://u@h/db')).toBe(true);
    expect(isPostgresUrl('data/gateway.db')).toBe(false);
    expect(isPostgresUrl('./postgres://x')).toBe(false);
    expect(redactUrl('postgres://u:secret@h:5432/db')).toBe('postgres://u:***@h:5432/db');
  });
});
