// Bridge credentials through the real broker: a zigbee2mqtt bridge and a
// Sparkplug edge node publish for the devices behind them on their adapter's
// topics, and on nothing else; the anonymous loopback policy is unchanged.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bridgeCanPublish, bridgeCanSubscribe, parseBridge } from '../../devices/bridge.js';
import { runCli, tempDir } from '../../simulators/run-cli.js';
import { encodeSparkplug } from '../../simulators/sparkplug-encode.js';
import { closed, connectClient, type SecureGateway, startSecureGateway } from './secure-gateway.js';

const Z2M = { adapter: 'zigbee2mqtt' } as const;
const EDGE = { adapter: 'sparkplug', group: 'plant' } as const;

describe('bridge ACLs (pure)', () => {
  it('parses the stored forms and refuses the rest', () => {
    expect(parseBridge('zigbee2mqtt')).toEqual(Z2M);
    expect(parseBridge('sparkplug:plant')).toEqual(EDGE);
    expect(parseBridge('sparkplug')).toHaveProperty('problem');
    expect(parseBridge('tasmota')).toHaveProperty('problem');
  });
  it('lets a zigbee2mqtt bridge publish and subscribe under zigbee2mqtt/ only', () => {
    expect(bridgeCanPublish(Z2M, 'z2m', 'zigbee2mqtt/kitchen/sensor')).toBe(true);
    expect(bridgeCanPublish(Z2M, 'z2m', 'zigbee2mqtt/bridge/state')).toBe(true);
    for (const t of [
      'devices/z2m/telemetry',
      'tele/x/SENSOR',
      'homeassistant/sensor/x/config',
      'zigbee2mqtt',
    ])
      expect(bridgeCanPublish(Z2M, 'z2m', t)).toBe(false);
    expect(bridgeCanSubscribe(Z2M, 'z2m', 'zigbee2mqtt/#')).toBe(true);
    expect(bridgeCanSubscribe(Z2M, 'z2m', '#')).toBe(false);
  });
  it('lets an edge node publish as itself in its group, and hear its commands', () => {
    expect(bridgeCanPublish(EDGE, 'edge1', 'spBv1.0/plant/NBIRTH/edge1')).toBe(true);
    expect(bridgeCanPublish(EDGE, 'edge1', 'spBv1.0/plant/DDATA/edge1/pump')).toBe(true);
    for (const t of [
      'spBv1.0/plant/NDATA/edge2',
      'spBv1.0/other/NDATA/edge1',
      'spBv1.0/plant/NCMD/edge1',
      'spBv1.0/plant/DDATA/edge1',
      'devices/edge1/telemetry',
    ])
      expect(bridgeCanPublish(EDGE, 'edge1', t)).toBe(false);
    expect(bridgeCanSubscribe(EDGE, 'edge1', 'spBv1.0/plant/NCMD/edge1')).toBe(true);
    expect(bridgeCanSubscribe(EDGE, 'edge1', 'spBv1.0/plant/DCMD/edge1/#')).toBe(true);
    expect(bridgeCanSubscribe(EDGE, 'edge1', 'spBv1.0/plant/NCMD/+')).toBe(false);
    expect(bridgeCanSubscribe(EDGE, 'edge1', 'spBv1.0/#')).toBe(false);
  });
});

describe('bridge credentials on the broker', () => {
  let gw: SecureGateway & { tokens: Map<string, string> };
  let url: string;
  const creds = (id: string) => ({ clientId: id, username: id, password: gw.tokens.get(id)! });
  const count = async (deviceId: string) => {
    const reader = gw.reader();
    try {
      return await reader.countReadings({ deviceId });
    } finally {
      await reader.close();
    }
  };

  beforeAll(async () => {
    gw = await startSecureGateway({}, [
      { id: 'z2m', bridge: Z2M },
      { id: 'edge1', bridge: EDGE },
    ]);
    url = `mqtt://127.0.0.1:${gw.gateway.mqtt.port}`;
  });
  afterAll(() => gw.close());

  it('stores what each bridge publishes for its devices', async () => {
    const z2m = await connectClient(url, creds('z2m'));
    await z2m.publishAsync('zigbee2mqtt/kitchen/sensor', '{"temperature": 20.5, "battery": 90}', { qos: 1 });
    await z2m.endAsync();
    expect(await count('kitchen.sensor')).toBe(2);
    const edge = await connectClient(url, creds('edge1'));
    await edge.subscribeAsync('spBv1.0/plant/NCMD/edge1', { qos: 0 });
    const birth = encodeSparkplug({
      seq: 0,
      metrics: [{ name: 'Temperature', alias: 1, datatype: 10, value: 20 }],
    });
    await edge.publishAsync('spBv1.0/plant/NBIRTH/edge1', Buffer.from(birth), { qos: 1 });
    await edge.endAsync();
    expect(await count('plant.edge1')).toBe(1);
  });

  it('closes a bridge that publishes outside its root, devices/ included; nothing is stored', async () => {
    for (const [id, topic] of [
      ['z2m', 'devices/z2m/telemetry'],
      ['edge1', 'spBv1.0/plant/NDATA/edge2'],
    ] as const) {
      const client = await connectClient(url, creds(id));
      const gone = closed(client);
      client.publish(topic, '{"temperature": 1}', { qos: 1 });
      await gone;
      client.end(true);
    }
    expect(await count('z2m')).toBe(0);
    expect(await count('plant.edge2')).toBe(0);
    expect(gw.logs.filter((l) => l.code === 'GW_ERR_ACL_PUBLISH').length).toBe(2);
  });

  it('leaves anonymous loopback clients as they were', async () => {
    const anon = await connectClient(url, { clientId: 'anon-z2m' });
    await anon.publishAsync('zigbee2mqtt/hall', '{"temperature": 18}', { qos: 1 });
    await anon.endAsync();
    expect(await count('hall')).toBe(1);
  });
});

describe('npm run devices -- add --bridge', () => {
  it('registers a zigbee2mqtt bridge and a Sparkplug edge node with its group; refuses a bad bridge', async () => {
    const db = join(tempDir(), 'gateway.db');
    const cli = (...args: string[]) => runCli('cli/devices-cli.js', [...args, '--db', db]);
    expect((await cli('add', 'z2m', '--bridge', 'zigbee2mqtt')).code).toBe(0);
    expect((await cli('add', 'edge1', '--bridge', 'sparkplug', '--group', 'plant')).code).toBe(0);
    const noGroup = await cli('add', 'edge2', '--bridge', 'sparkplug');
    expect(noGroup.code).toBe(2);
    expect(noGroup.stderr).toContain('needs its group');
    expect((await cli('add', 'edge3', '--bridge', 'modbus')).code).toBe(2);
    const list = await cli('list', '--format', 'json');
    const rows = JSON.parse(list.stdout) as Array<{ device: string; bridge: string }>;
    expect(rows.map((r) => [r.device, r.bridge])).toEqual([
      ['edge1', 'sparkplug:plant'],
      ['z2m', 'zigbee2mqtt'],
    ]);
  });
});
