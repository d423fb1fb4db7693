import mqttPacket from 'mqtt-packet';
import { expect, it } from 'vitest';
import { createPublishTemplate } from '../../bench/lib/publish-template.js';

it('patches message id and ts into a pre-encoded PUBLISH that still parses', () => {
  const enc = createPublishTemplate('devices/x-12/telemetry', 3);
  const buf = enc(513, 1764150000123);
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const got: mqttPacket.Packet[] = [];
  parser.on('packet', (p) => got.push(p));
  parser.parse(buf);
  expect(got).toHaveLength(1);
  const packet = got[0] as mqttPacket.IPublishPacket;
  expect(packet.messageId).toBe(513);
  expect(JSON.parse(packet.payload.toString()).ts).toBe(1764150000123);
  expect(packet.topic).toBe('devices/x-12/telemetry');
});
