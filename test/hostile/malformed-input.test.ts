// Field notes, hostile inputs 3, 4 and 5: malformed framing, non-MQTT bytes
// on the MQTT port, bad names (invalid UTF-8, wildcards, empty and 65,535-byte
// topics, odd ClientIds and wills). Each case ends in one observed outcome;
// the canary must be served after every one, and the process must live.

import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../core/errors.js';
import { type HostileRig, startHostileRig } from './support/hostile-rig.js';
import {
  connectBytes,
  openConnected,
  openRaw,
  publishBytes,
  type RawConnection,
} from './support/raw-connection.js';

type Outcome = 'closed' | 'open' | 'refused' | 'acked';

interface Case {
  item: 3 | 4 | 5;
  name: string;
  /** false: the bytes are the first thing on the socket */
  connected: boolean;
  bytes: () => Buffer;
  expect: Outcome;
  deadLetter?: ErrorCode;
}

const patch = (buf: Buffer, at: number, byte: number) => {
  const out = Buffer.from(buf);
  out[at] = byte;
  return out;
};
/** replaces the first occurrence of `marker` (ASCII) with raw bytes of the same length */
const splice = (buf: Buffer, marker: string, bytes: number[]) => {
  const out = Buffer.from(buf);
  const at = out.indexOf(marker);
  if (at < 0 || bytes.length !== marker.length) throw new Error('bad splice');
  Buffer.from(bytes).copy(out, at);
  return out;
};
// mqtt-packet will not generate an empty will topic: cut one down by hand.
const emptyWillTopic = () => {
  const full = connectBytes('will-empty', {
    will: { topic: 'W', payload: Buffer.from('x'), qos: 0, retain: false },
  });
  const at = full.indexOf(Buffer.from([0x00, 0x01, 0x57]));
  const out = Buffer.concat([full.subarray(0, at), Buffer.from([0x00, 0x00]), full.subarray(at + 3)]);
  out[1] = out[1]! - 1;
  return out;
};
let seed = 42;
const random = (n: number) =>
  Buffer.from(
    Array.from({ length: n }, () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed >> 16;
    }),
  );
const now = Date.now();
const good = JSON.stringify({ ts: now, values: { t: 1 } });

const cases: Case[] = [
  // 3: malformed framing
  {
    item: 3,
    name: 'PUBLISH before CONNECT',
    connected: false,
    bytes: () => publishBytes('devices/x/telemetry', good),
    expect: 'closed',
  },
  {
    item: 3,
    name: 'SUBSCRIBE before CONNECT',
    connected: false,
    bytes: () =>
      mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 0 }] }),
    expect: 'closed',
  },
  {
    item: 3,
    name: 'PINGREQ before CONNECT',
    connected: false,
    bytes: () => mqttPacket.generate({ cmd: 'pingreq' }),
    expect: 'closed',
  },
  {
    item: 3,
    name: 'CONNECT with protocol name MQTX',
    connected: false,
    bytes: () => splice(connectBytes('bad-name'), 'MQTT', [0x4d, 0x51, 0x54, 0x58]),
    expect: 'closed',
  },
  {
    item: 3,
    name: 'CONNECT with protocol level 2',
    connected: false,
    bytes: () => patch(connectBytes('lvl-2'), 8, 2),
    expect: 'closed',
  },
  {
    item: 3,
    name: 'CONNECT with protocol level 99',
    connected: false,
    bytes: () => patch(connectBytes('lvl-99'), 8, 99),
    expect: 'closed',
  },
  {
    item: 3,
    name: 'CONNECT as MQTT 5 (level 5)',
    connected: false,
    bytes: () => connectBytes('lvl-5', { protocolVersion: 5 }),
    expect: 'refused',
  },
  {
    item: 3,
    name: 'CONNECT with reserved flag bit 0 set [MQTT-3.1.2-3]',
    connected: false,
    bytes: () => patch(connectBytes('rsv'), 9, 0x03),
    expect: 'closed',
  },
  {
    item: 3,
    name: 'CONNECT with will QoS but no will flag [MQTT-3.1.2-13]',
    connected: false,
    bytes: () => patch(connectBytes('willqos'), 9, 0x0a),
    expect: 'closed',
  },
  {
    item: 3,
    name: 'CONNECT with header flags 0x1F',
    connected: false,
    bytes: () => patch(connectBytes('hdr'), 0, 0x1f),
    expect: 'closed',
  },
  {
    item: 3,
    name: 'zero-length ClientId with clean=0 (aedes #1095)',
    connected: false,
    bytes: () => patch(connectBytes(''), 9, 0x00),
    expect: 'refused',
  },
  {
    item: 3,
    name: 'a second CONNECT [MQTT-3.1.0-2]',
    connected: true,
    bytes: () => connectBytes('second'),
    expect: 'closed',
  },
  {
    item: 3,
    name: 'PUBLISH with QoS 3 [MQTT-3.3.1-4]',
    connected: true,
    bytes: () => Buffer.from([0x36, 0x06, 0x00, 0x01, 0x61, 0x00, 0x01, 0x78]),
    expect: 'closed',
  },
  {
    item: 3,
    name: 'SUBSCRIBE with reserved flags 0000 [MQTT-3.8.1-1]',
    connected: true,
    bytes: () =>
      patch(
        mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 0 }] }),
        0,
        0x80,
      ),
    expect: 'closed',
  },
  {
    item: 3,
    name: 'PUBREL with reserved flags 0000 [MQTT-3.6.1-1]',
    connected: true,
    bytes: () => patch(mqttPacket.generate({ cmd: 'pubrel', messageId: 1 }), 0, 0x60),
    expect: 'closed',
  },
  {
    item: 3,
    name: 'SUBSCRIBE with no topic filter [MQTT-3.8.3-3]',
    connected: true,
    bytes: () => Buffer.from([0x82, 0x02, 0x00, 0x01]),
    expect: 'closed',
  },
  {
    item: 3,
    name: 'reserved packet type 0',
    connected: true,
    bytes: () => Buffer.from([0x00, 0x00]),
    expect: 'closed',
  },
  {
    item: 3,
    name: 'packet type 15 (AUTH, MQTT 5 only)',
    connected: true,
    bytes: () => Buffer.from([0xf0, 0x00]),
    expect: 'closed',
  },
  {
    item: 3,
    name: 'CONNACK sent by a client',
    connected: true,
    bytes: () => Buffer.from([0x20, 0x02, 0x00, 0x00]),
    expect: 'closed',
  },
  {
    item: 3,
    name: 'PUBLISH whose topic length runs past the packet',
    connected: true,
    bytes: () => Buffer.from([0x30, 0x04, 0x00, 0x40, 0x61, 0x62]),
    expect: 'closed',
  },
  // 4: non-MQTT bytes on the MQTT port
  {
    item: 4,
    name: 'TLS ClientHello',
    connected: false,
    bytes: () =>
      Buffer.concat([
        Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03]),
        random(165),
      ]),
    expect: 'closed',
  },
  {
    item: 4,
    name: 'HTTP GET',
    connected: false,
    bytes: () => Buffer.from('GET / HTTP/1.1\r\nHost: gateway\r\n\r\n'),
    expect: 'closed',
  },
  {
    item: 4,
    name: 'WebSocket upgrade on the TCP port',
    connected: false,
    bytes: () =>
      Buffer.from(
        'GET /mqtt HTTP/1.1\r\nHost: g\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      ),
    expect: 'closed',
  },
  {
    item: 4,
    name: 'PROXY protocol v1 line',
    connected: false,
    bytes: () => Buffer.from('PROXY TCP4 10.0.0.1 10.0.0.2 5555 1883\r\n'),
    expect: 'closed',
  },
  { item: 4, name: '4 KiB of random bytes', connected: false, bytes: () => random(4096), expect: 'closed' },
  {
    item: 4,
    name: '4 KiB of random bytes after CONNECT',
    connected: true,
    bytes: () => random(4096),
    expect: 'closed',
  },
  {
    item: 4,
    name: '100 bytes of 0xFF',
    connected: false,
    bytes: () => Buffer.alloc(100, 0xff),
    expect: 'closed',
  },
  // 5: names
  {
    item: 5,
    name: 'telemetry topic with invalid UTF-8 in the device id',
    connected: true,
    bytes: () => splice(publishBytes('devices/ZZ/telemetry', good), 'ZZ', [0xff, 0xfe]),
    expect: 'acked',
    deadLetter: 'GW_ERR_DEVICE_ID_INVALID',
  },
  {
    item: 5,
    name: 'telemetry topic with U+0000 in the device id',
    connected: true,
    bytes: () => publishBytes('devices/a\u0000b/telemetry', good),
    expect: 'acked',
    deadLetter: 'GW_ERR_DEVICE_ID_INVALID',
  },
  {
    item: 5,
    name: 'PUBLISH topic with + [MQTT-3.3.2-2]',
    connected: true,
    bytes: () => publishBytes('devices/+/telemetry', good),
    expect: 'closed',
  },
  {
    item: 5,
    name: 'PUBLISH topic with #',
    connected: true,
    bytes: () => publishBytes('devices/#', good),
    expect: 'closed',
  },
  {
    item: 5,
    name: 'PUBLISH with an empty topic [MQTT-4.7.3-1]',
    connected: true,
    bytes: () => publishBytes('', good),
    expect: 'closed',
  },
  {
    item: 5,
    name: 'telemetry topic of 65,535 bytes',
    connected: true,
    bytes: () => publishBytes(`devices/${'a'.repeat(65_535 - 18)}/telemetry`, good),
    expect: 'acked',
    deadLetter: 'GW_ERR_DEVICE_ID_INVALID',
  },
  {
    item: 5,
    name: 'non-telemetry topic of 65,535 bytes (routed)',
    connected: true,
    bytes: () => publishBytes('x'.repeat(65_535), good),
    expect: 'acked',
  },
  {
    item: 5,
    name: 'topic of 200 levels',
    connected: true,
    bytes: () => publishBytes(`${'a/'.repeat(199)}a`, good),
    expect: 'closed',
  },
  {
    item: 5,
    name: 'ClientId with invalid UTF-8',
    connected: false,
    bytes: () => splice(connectBytes('idZZ'), 'ZZ', [0xc3, 0x28]),
    expect: 'refused',
  },
  {
    item: 5,
    name: 'ClientId with wildcards and a slash',
    connected: false,
    bytes: () => connectBytes('dev/+/#'),
    expect: 'refused',
  },
  {
    item: 5,
    name: 'ClientId of 65,535 bytes',
    connected: false,
    bytes: () => connectBytes('c'.repeat(65_535)),
    expect: 'refused',
  },
  {
    item: 5,
    name: 'will topic with a wildcard',
    connected: false,
    bytes: () =>
      connectBytes('will-wild', {
        will: { topic: 'devices/+/telemetry', payload: Buffer.from(good), qos: 0, retain: false },
      }),
    expect: 'refused',
  },
  {
    item: 5,
    name: 'will topic with invalid UTF-8',
    connected: false,
    bytes: () =>
      splice(
        connectBytes('will-utf8', {
          will: { topic: 'wZZ', payload: Buffer.from('x'), qos: 0, retain: false },
        }),
        'ZZ',
        [0xed, 0xa0],
      ),
    expect: 'refused',
  },
  { item: 5, name: 'empty will topic', connected: false, bytes: () => emptyWillTopic(), expect: 'refused' },
];

async function outcomeOf(conn: RawConnection, c: Case): Promise<Outcome> {
  if (c.expect === 'acked' || c.deadLetter !== undefined) {
    const ack = conn.next('puback').then(
      () => 'acked' as const,
      () => 'closed' as const,
    );
    conn.send(c.bytes());
    return ack;
  }
  if (!c.connected) {
    const connack = conn.next('connack').catch(() => undefined);
    conn.send(c.bytes());
    const p = await connack;
    if (p === undefined) return 'closed';
    if (p.cmd === 'connack' && p.returnCode !== 0) {
      await conn.closed;
      return 'refused';
    }
    return conn.ping();
  }
  conn.send(c.bytes());
  return conn.ping();
}

describe('malformed framing, non-MQTT bytes, bad names', () => {
  let rig: HostileRig;
  const observed: string[] = [];
  beforeAll(async () => {
    rig = await startHostileRig(['--connect-timeout-ms', '2000']);
  });
  afterAll(async () => {
    console.log(`hostile inputs 3-5:\n${observed.join('\n')}`);
    await rig.close();
  });

  it.each(cases.map((c) => [`${c.item}: ${c.name}`, c] as const))('%s', async (_name, c) => {
    const conn = c.connected
      ? await openConnected(rig.port, `h-${c.item}-${cases.indexOf(c)}`)
      : await openRaw(rig.port);
    const outcome = await outcomeOf(conn, c);
    observed.push(
      `  [${c.item}] ${c.name}: ${outcome}${c.deadLetter === undefined ? '' : ` + dead letter ${c.deadLetter}`}`,
    );
    expect(outcome).toBe(c.expect);
    if (c.deadLetter !== undefined) {
      const letters = await rig.deadLetters();
      expect(letters[0]?.code).toBe(c.deadLetter);
    }
    conn.destroy();
    expect(rig.alive()).toBe(true);
    await rig.canary.probe();
  });

  it('stored every acknowledged canary reading', async () => {
    await rig.canary.assertStored(rig.reader());
  });
});
