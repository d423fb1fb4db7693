import { describe, expect, it } from 'vitest';
import { canPublish, canSubscribe, clientIdAllowed, type Identity } from '../../devices/acl.js';
import { anonymousPolicy, apiTokenRequired, isLoopbackHost } from '../../devices/policy.js';

const device = (deviceId: string): Identity => ({
  kind: 'device',
  deviceId,
  version: 1,
  allowedMetrics: null,
  via: 'token',
});
const anon: Identity = { kind: 'anonymous' };
const registered = new Set(['a', 'a-b', 'kitchen-pi']);
const isRegistered = (id: string) => registered.has(id);

describe('canPublish', () => {
  it.each([
    ['devices/kitchen-pi/telemetry', true],
    ['devices/kitchen-pi/telemetry/temperature', true],
    ['devices/kitchen-pi', false],
    ['devices/kitchen-pi-2/telemetry', false],
    ['devices/a/telemetry', false],
    ['alerts/kitchen-pi', false],
    ['$SYS/broker/x', false],
    ['other/topic', false],
  ])('device kitchen-pi → %s: %s', (topic, allowed) => {
    expect(canPublish(device('kitchen-pi'), topic, isRegistered)).toBe(allowed);
  });

  it.each([
    ['devices/unregistered/telemetry', true],
    ['devices/kitchen-pi/telemetry', false],
    ['devices/a-b/telemetry/t', false],
    ['$SYS/x', false],
    ['plain/topic', true],
  ])('anonymous → %s: %s', (topic, allowed) => {
    expect(canPublish(anon, topic, isRegistered)).toBe(allowed);
  });
});

describe('canSubscribe', () => {
  it.each([
    ['alerts/a', true],
    ['alerts/a/#', true],
    ['devices/a/#', true],
    ['devices/a/+/temperature', true],
    ['devices/+/telemetry', false],
    ['devices/#', false],
    ['#', false],
    ['+/a/#', false],
    ['alerts/+', false],
    ['alerts/a-b', false],
    ['$SYS/#', false],
  ])('device a → %s: %s', (filter, allowed) => {
    expect(canSubscribe(device('a'), filter)).toBe(allowed);
  });

  it('lets anonymous clients subscribe as on a dev broker', () => {
    expect(canSubscribe(anon, '#')).toBe(true);
  });
});

describe('clientIdAllowed', () => {
  it.each([
    ['a', 'a', true],
    ['a', 'a-1', true],
    ['a', 'a-x-y', true],
    ['a', 'b', false],
    ['a', 'ab', false],
    ['a', 'a-b', false], // another device's id
    ['a', 'a-b-1', false], // another device's prefix
    ['a-b', 'a-b', true],
    ['a-b', 'a-b-1', true],
    ['a-b', 'a', false],
  ])('device %s with ClientId %s: %s', (id, clientId, allowed) => {
    expect(clientIdAllowed(device(id), clientId, isRegistered)).toBe(allowed);
  });

  it.each([
    ['mosq-123', true],
    ['a', false],
    ['a-1', false],
    ['kitchen-pi', false],
    ['kitchen-pi-2', false],
    ['kitchen', true],
    ['b-a', true],
  ])('anonymous with ClientId %s: %s', (clientId, allowed) => {
    expect(clientIdAllowed(anon, clientId, isRegistered)).toBe(allowed);
  });
});

describe('anonymous policy', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['::1', true],
    ['[::1]', true],
    ['localhost', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.0.2.2', false],
    ['10.0.0.1', false],
    ['128.0.0.1', false],
  ])('%s is loopback: %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });

  it('allows anonymous clients only on loopback, or with --allow-anonymous', () => {
    expect(anonymousPolicy(['127.0.0.1'], false)).toEqual({ allowed: true, reason: 'loopback' });
    expect(anonymousPolicy(['127.0.0.1', '0.0.0.0'], false)).toEqual({
      allowed: false,
      reason: 'non-loopback',
    });
    expect(anonymousPolicy(['0.0.0.0'], true)).toEqual({ allowed: true, reason: 'allow-anonymous' });
  });

  it('requires the API token off loopback, or whenever one is set', () => {
    expect(apiTokenRequired('127.0.0.1', '')).toBe(false);
    expect(apiTokenRequired('0.0.0.0', '')).toBe(true);
    expect(apiTokenRequired('127.0.0.1', 'secret')).toBe(true);
  });
});
