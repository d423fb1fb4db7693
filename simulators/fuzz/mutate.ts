// A bounded mutation fuzzer's raw material: a seed corpus of valid MQTT
// 3.1.1 packets from mqtt-packet, and mutations of the kinds that break
// parsers: bit flips, length-field corruption, truncation, splicing, random
// bytes and oversized declared lengths. Seeded, so a failing run replays.

import mqttPacket from 'mqtt-packet';
import { type EdgeMetric, encodeSparkplug } from '../sparkplug-encode.js';

export interface Random {
  next(): number;
  int(n: number): number;
  bytes(n: number): Buffer;
}

/** mulberry32: small, fast and good enough to drive mutations reproducibly. */
export function createRandom(seed: number): Random {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    bytes: (n) => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256))),
  };
}

export function connectPacket(clientId: string, withWill = false): Buffer {
  return mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    clientId,
    keepalive: 30,
    ...(withWill
      ? {
          will: {
            topic: `devices/${clientId}/telemetry`,
            payload: Buffer.from('{"w": 1}'),
            qos: 1,
            retain: false,
          },
        }
      : {}),
  });
}

/**
 * The same CONNECT with its will's QoS bits set to 3 [MQTT-3.1.2-14]: the
 * 30-minute run's finding (the gateway crashed when such a will was
 * published), kept in the corpus so that short runs reach it.
 */
function willQos3(connect: Buffer): Buffer {
  // fixed header (2: the packet is short) + "MQTT" with its length (6) + level (1): the flags byte
  connect[9] = connect[9]! | 0x18;
  return connect;
}

export function seedCorpus(): Buffer[] {
  const ts = Date.now();
  const g = (p: mqttPacket.Packet) => mqttPacket.generate(p);
  return [
    connectPacket('fuzz-seed', true),
    willQos3(connectPacket('fuzz-will-qos3', true)),
    g({
      cmd: 'publish',
      topic: 'devices/fuzz-a/telemetry',
      payload: `{"ts": ${ts}, "values": {"t": 1}}`,
      qos: 1,
      messageId: 1,
      retain: false,
      dup: false,
    }),
    g({
      cmd: 'publish',
      topic: 'devices/fuzz-a/telemetry/t',
      payload: '21.5',
      qos: 2,
      messageId: 2,
      retain: false,
      dup: false,
    }),
    g({
      cmd: 'publish',
      topic: 'devices/fuzz-b/telemetry',
      payload: '[{"t": 1}, {"h": 2}]',
      qos: 0,
      retain: false,
      dup: false,
    }),
    g({
      cmd: 'publish',
      topic: 'alerts/fuzz-a',
      payload: 'x',
      qos: 1,
      messageId: 3,
      retain: true,
      dup: false,
    }),
    ...adapterSeeds(ts).map(([topic, payload], i) =>
      g({
        cmd: 'publish',
        topic,
        payload,
        qos: 1,
        messageId: 20 + i,
        retain: topic.endsWith('/config'),
        dup: false,
      }),
    ),
    g({
      cmd: 'subscribe',
      messageId: 4,
      subscriptions: [
        { topic: 'devices/+/telemetry', qos: 1 },
        { topic: '#', qos: 0 },
      ],
    }),
    g({ cmd: 'unsubscribe', messageId: 5, unsubscriptions: ['#'] }),
    g({ cmd: 'puback', messageId: 6 }),
    g({ cmd: 'pubrec', messageId: 7 }),
    g({ cmd: 'pubrel', messageId: 2 }),
    g({ cmd: 'pubcomp', messageId: 8 }),
    g({ cmd: 'pingreq' }),
    g({ cmd: 'disconnect' }),
  ];
}

/** One message per payload adapter (docs/sensors.md), so mutations reach each decoder. */
function adapterSeeds(ts: number): Array<[string, Buffer | string]> {
  const sparkplug = (seq: number, metrics: EdgeMetric[]) =>
    Buffer.from(encodeSparkplug({ timestamp: ts, seq, metrics }));
  return [
    ['tele/fuzz-t/SENSOR', '{"Time":"2026-01-01T00:00:00","BME280":{"Temperature":21.5},"TempUnit":"C"}'],
    ['zigbee2mqtt/fuzz z', '{"temperature":19.5,"occupancy":true,"action":"single"}'],
    [
      'homeassistant/sensor/fuzz-h/t/config',
      '{"stat_t":"fuzz-h/sensor/t/state","unit_of_meas":"°C","val_tpl":"{{ value_json.a.b }}"}',
    ],
    ['fuzz-h/sensor/t/state', '{"a":{"b":22.5}}'],
    ['influx/fuzz-i', `cpu,host=fuzz-i usage=1.5,n=3i,ok=t ${ts}000000`],
    ['spBv1.0/fuzz/NBIRTH/edge', sparkplug(0, [{ name: 'a/b', alias: 1, datatype: 9, value: 1.5 }])],
    ['spBv1.0/fuzz/NDATA/edge', sparkplug(1, [{ alias: 1, datatype: 9, value: 2.5 }])],
  ];
}

export const MUTATIONS = [
  'bitflip',
  'byte',
  'length',
  'truncate',
  'splice',
  'random',
  'oversized',
  'repeat',
  'none',
] as const;
export type Mutation = (typeof MUTATIONS)[number];

export function mutate(rnd: Random, corpus: readonly Buffer[], kind: Mutation): Buffer {
  const pick = () => corpus[rnd.int(corpus.length)]!;
  const p = Buffer.from(pick());
  switch (kind) {
    case 'bitflip': {
      for (let n = 1 + rnd.int(4); n > 0; n--) {
        const i = rnd.int(p.length);
        p[i] = p[i]! ^ (1 << rnd.int(8));
      }
      return p;
    }
    case 'byte': {
      p[rnd.int(p.length)] = rnd.int(256);
      return p;
    }
    case 'length': {
      // the Remaining Length: a wrong value, a continuation bit, or a 5-byte varint
      const choice = rnd.int(3);
      if (choice === 0) p[1] = rnd.int(256);
      else if (choice === 1) p[1] = p[1]! | 0x80;
      else
        return Buffer.concat([p.subarray(0, 1), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x01]), p.subarray(2)]);
      return p;
    }
    case 'truncate':
      return p.subarray(0, rnd.int(p.length));
    case 'splice': {
      const q = pick();
      return Buffer.concat([p.subarray(0, rnd.int(p.length + 1)), q.subarray(rnd.int(q.length))]);
    }
    case 'random':
      return rnd.bytes(1 + rnd.int(256));
    case 'oversized': {
      // a declared length far over any limit, then part of a body
      const lengths = [
        [0xff, 0xff, 0xff, 0x7f],
        [0x80, 0x80, 0x40],
        [0xff, 0xff, 0x7f],
      ];
      return Buffer.concat([
        Buffer.from([0x30]),
        Buffer.from(lengths[rnd.int(lengths.length)]!),
        rnd.bytes(rnd.int(2048)),
      ]);
    }
    case 'repeat':
      return Buffer.concat(Array.from({ length: 2 + rnd.int(20) }, () => p));
    case 'none':
      return p;
  }
}
