import { PassThrough } from 'node:stream';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { createConnectionGuard } from '../../gateway/limits/connection-guard.js';
import { createDeviceRateLimiter } from '../../gateway/limits/device-rate-limiter.js';
import { createPacketSizeScanner } from '../../gateway/limits/packet-size-guard.js';

const publish = (bytes: number) =>
  mqttPacket.generate({
    cmd: 'publish',
    topic: 't',
    payload: Buffer.alloc(bytes),
    qos: 1,
    messageId: 1,
    retain: false,
    dup: false,
  });

describe('packet size scanner', () => {
  it('passes a stream of packets under the limit, however the chunks split them', () => {
    const stream = Buffer.concat([
      publish(10),
      publish(200),
      publish(130),
      mqttPacket.generate({ cmd: 'pingreq' }),
    ]);
    for (const size of [1, 2, 3, 7, 64, stream.length]) {
      const scanner = createPacketSizeScanner(300);
      for (let i = 0; i < stream.length; i += size) {
        expect(scanner.scan(stream.subarray(i, i + size))).toBeUndefined();
      }
    }
  });

  it('refuses a packet over the limit from its header alone, even split byte by byte', () => {
    const big = publish(400);
    const scanner = createPacketSizeScanner(300);
    expect(scanner.scan(publish(10))).toBeUndefined();
    // byte 1, then the two bytes of its Remaining Length, one per chunk
    expect(scanner.scan(big.subarray(0, 1))).toBeUndefined();
    expect(scanner.scan(big.subarray(1, 2))).toBeUndefined();
    expect(scanner.scan(big.subarray(2, 3))?.code).toBe('GW_ERR_PACKET_TOO_LARGE');
  });

  it('refuses a huge declared length before any body byte', () => {
    const scanner = createPacketSizeScanner(131072);
    expect(scanner.scan(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]))?.code).toBe('GW_ERR_PACKET_TOO_LARGE');
  });

  it('refuses a Remaining Length longer than four bytes [MQTT-2.2.3]', () => {
    const scanner = createPacketSizeScanner(Number.MAX_SAFE_INTEGER);
    expect(scanner.scan(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]))?.code).toBe(
      'GW_ERR_PACKET_MALFORMED',
    );
  });

  it('counts the whole packet, header included', () => {
    const p = publish(100);
    expect(createPacketSizeScanner(p.length).scan(p)).toBeUndefined();
    expect(createPacketSizeScanner(p.length - 1).scan(p)?.code).toBe('GW_ERR_PACKET_TOO_LARGE');
  });
});

describe('device rate limiter', () => {
  it('allows the burst, then the rate, per device', () => {
    const limiter = createDeviceRateLimiter({ ratePerSecond: 10, burst: 5 });
    const taken = Array.from({ length: 7 }, () => limiter.take('a', 0));
    expect(taken).toEqual([true, true, true, true, true, false, false]);
    // another device has its own bucket
    expect(limiter.take('b', 0)).toBe(true);
    // 100 ms refill one token at 10/s
    expect(limiter.take('a', 100)).toBe(true);
    expect(limiter.take('a', 100)).toBe(false);
    // never more than the burst
    expect(Array.from({ length: 7 }, () => limiter.take('a', 60_000)).filter(Boolean)).toHaveLength(5);
  });

  it('forgets idle devices, so buckets do not grow without bound', () => {
    const limiter = createDeviceRateLimiter({ ratePerSecond: 100, burst: 100 });
    for (let i = 0; i < 10_000; i++) limiter.take(`d${i}`, 0);
    expect(limiter.tracked).toBe(10_000);
    // a full bucket (1 s here) is the same as none: the next sweep drops them
    limiter.take('late', 1000);
    expect(limiter.tracked).toBe(1);
  });

  it('is off at rate 0', () => {
    const limiter = createDeviceRateLimiter({ ratePerSecond: 0, burst: 1 });
    expect(Array.from({ length: 100 }, () => limiter.take('a', 0)).every(Boolean)).toBe(true);
    expect(limiter.tracked).toBe(0);
  });
});

describe('connection guard', () => {
  it('admits up to the cap over all streams, refuses the next, and frees a slot on close', async () => {
    const refused: string[] = [];
    const guard = createConnectionGuard({
      maxConnections: 2,
      maxPacketBytes: 1000,
      onRefused: (code) => refused.push(code),
    });
    const handled: PassThrough[] = [];
    const handle = (c: unknown) => handled.push(c as PassThrough);
    const [a, b, c] = [new PassThrough(), new PassThrough(), new PassThrough()];
    expect(guard.accept(a, handle)).toBe(true);
    expect(guard.accept(b, handle)).toBe(true);
    expect(guard.accept(c, handle)).toBe(false);
    expect(c.destroyed).toBe(true);
    expect(refused).toEqual(['GW_ERR_TOO_MANY_CONNECTIONS']);
    expect(handled).toEqual([a, b]);
    const closed = new Promise((r) => a.once('close', r));
    a.destroy();
    await closed;
    expect(guard.open).toBe(1);
    expect(guard.accept(new PassThrough(), handle)).toBe(true);
  });

  it('destroys a stream whose packet is over the limit, in read() order', () => {
    const refused: string[] = [];
    const guard = createConnectionGuard({
      maxConnections: 10,
      maxPacketBytes: 100,
      onRefused: (code) => refused.push(code),
    });
    const s = new PassThrough();
    // like aedes: a 'readable' listener that reads
    guard.accept(s, (conn) => conn.on('readable', () => conn.read()));
    s.write(publish(10));
    s.write(publish(500));
    return new Promise<void>((resolve) => {
      s.once('close', () => {
        expect(refused).toEqual(['GW_ERR_PACKET_TOO_LARGE']);
        resolve();
      });
    });
  });
});
