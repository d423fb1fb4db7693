import { PassThrough } from 'node:stream';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { createConnectionMemo } from '../../gateway/connection-memo.js';
import { createConnectionGuard } from '../../gateway/limits/connection-guard.js';
import { createPacketSizeScanner } from '../../gateway/limits/packet-size-guard.js';
import { createPublishThrottle } from '../../gateway/limits/publish-throttle.js';
import { createRateBudget } from '../../gateway/limits/rate-budget.js';

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

describe('rate budget', () => {
  it('lets the burst through at once, then says how long each further message waits', () => {
    const budget = createRateBudget<string>({ ratePerSecond: 10, burst: 5 });
    const waits = Array.from({ length: 7 }, () => budget.reserve('a', 0));
    expect(waits).toEqual([0, 0, 0, 0, 0, 100, 200]);
    // another key has its own bucket
    expect(budget.reserve('b', 0)).toBe(0);
    // the debt of two held messages is repaid first: at 100 ms the next waits 200 ms more
    expect(budget.reserve('a', 100)).toBe(200);
    // never more than the burst saved up
    const later = Array.from({ length: 7 }, () => budget.reserve('a', 60_000));
    expect(later.filter((w) => w === 0)).toHaveLength(5);
  });

  it('forgets keys whose bucket has refilled, so buckets do not grow without bound', () => {
    const budget = createRateBudget<string>({ ratePerSecond: 100, burst: 100 });
    for (let i = 0; i < 10_000; i++) budget.reserve(`d${i}`, 0);
    // a key in debt is kept until its debt is repaid
    for (let i = 0; i < 200; i++) budget.reserve('debtor', 0);
    expect(budget.tracked).toBe(10_001);
    // a full bucket (1 s here) is the same as none: the next sweep drops them
    budget.reserve('late', 1000);
    expect(budget.tracked).toBe(2);
    // the debtor's 100 held messages are repaid by 2 s: then it goes too
    budget.reserve('later', 2000);
    expect(budget.tracked).toBe(1);
  });

  it("finds a key's bucket through a hold, and a swept one again by its key, never as a second bucket", () => {
    const budget = createRateBudget<string>({ ratePerSecond: 10, burst: 2 });
    const hold = createConnectionMemo();
    expect(Array.from({ length: 3 }, () => budget.reserve('a', 0, hold))).toEqual([0, 0, 100]);
    // the same bucket, whether through the hold or by key
    expect(budget.reserve('a', 0)).toBe(200);
    expect(budget.reserve('a', 0, hold)).toBe(300);
    // another key through the same hold has its own bucket
    expect(budget.reserve('b', 0, hold)).toBe(0);
    expect(budget.tracked).toBe(2);
    // By 10 s both have refilled and are swept. The hold's old bucket must not
    // come back beside the one a caller without the hold makes for 'b'.
    expect(budget.reserve('b', 10_000)).toBe(0);
    expect(budget.reserve('b', 10_000, hold)).toBe(0);
    expect(budget.reserve('b', 10_000, hold)).toBe(100);
    expect(budget.reserve('b', 10_000)).toBe(200);
  });

  it('is off at rate 0', () => {
    const budget = createRateBudget<string>({ ratePerSecond: 0, burst: 1 });
    expect(Array.from({ length: 100 }, () => budget.reserve('a', 0)).every((w) => w === 0)).toBe(true);
    expect(budget.tracked).toBe(0);
  });
});

describe('publish throttle', () => {
  // Virtual time: the clock and the one timer are the test's.
  function virtualTime() {
    let t = 0;
    let pending: { fn: () => void; at: number } | undefined;
    return {
      now: () => t,
      timers: {
        set(fn: () => void, ms: number) {
          pending = { fn, at: t + ms };
          return pending;
        },
        clear(handle: unknown) {
          if (pending === handle) pending = undefined;
        },
      },
      /** advances to `to`, firing the timer whenever it falls due */
      advance(to: number) {
        while (pending !== undefined && pending.at <= to) {
          const p = pending;
          pending = undefined;
          t = p.at;
          p.fn();
        }
        t = to;
      },
    };
  }

  it('holds messages over the device budget and releases them in order at the rate', () => {
    const time = virtualTime();
    const held: string[] = [];
    const throttle = createPublishThrottle({
      device: { ratePerSecond: 10, burst: 2 },
      connection: { ratePerSecond: 0, burst: 1 },
      onHeld: (scope) => held.push(scope),
      now: time.now,
      timers: time.timers,
    });
    const out: string[] = [];
    const conn = {};
    const results = ['m1', 'm2', 'm3', 'm4'].map((m) => throttle.admit('a', conn, () => out.push(m)));
    expect(results).toEqual([false, false, true, true]);
    expect(out).toEqual(['m1', 'm2']);
    expect(held).toEqual(['device', 'device']);
    time.advance(99);
    expect(out).toEqual(['m1', 'm2']);
    time.advance(100);
    expect(out).toEqual(['m1', 'm2', 'm3']);
    time.advance(200);
    expect(out).toEqual(['m1', 'm2', 'm3', 'm4']);
    expect(throttle.held).toBe(0);
  });

  it('bounds a connection over many device ids, without making one id wait behind another, through its memo as without one', () => {
    // A bridge publishing for several ids. Through each connection's memo
    // (the gateway's path: the connection budget in no Map, the device's
    // bucket found through the memo), and beside it the same calls without one.
    const run = (withMemo: boolean) => {
      const time = virtualTime();
      const held: string[] = [];
      const throttle = createPublishThrottle({
        device: { ratePerSecond: 1, burst: 1 },
        connection: { ratePerSecond: 100, burst: 3 },
        onHeld: (scope) => held.push(scope),
        now: time.now,
        timers: time.timers,
      });
      const out: string[] = [];
      const bridge = {};
      const memo = withMemo ? createConnectionMemo() : undefined;
      for (const id of ['x', 'x', 'y', 'z', 'w']) throttle.admit(id, bridge, () => out.push(id), memo);
      const atOnce = [...out];
      time.advance(20);
      const after20 = [...out];
      time.advance(1000);
      // another connection, another memo: its own connection budget
      const other = withMemo ? createConnectionMemo() : undefined;
      for (let i = 0; i < 3; i++) throttle.admit(`v${i}`, {}, () => out.push(`v${i}`), other);
      return { atOnce, after20, out, held, memo };
    };
    const viaMemo = run(true);
    // x twice: its second message waits 1 s for its device budget
    expect(viaMemo.atOnce).toEqual(['x', 'y']);
    // z and w were held by the connection budget only: they pass x's held message
    expect(viaMemo.after20).toEqual(['x', 'y', 'z', 'w']);
    expect(viaMemo.out).toEqual(['x', 'y', 'z', 'w', 'x', 'v0', 'v1', 'v2']);
    expect(viaMemo.held).toEqual(['device', 'connection', 'connection']);
    // The memo holds the connection's tokens: a burst of 3, less the 5 its messages took at once.
    expect(viaMemo.memo!.ownTokens).toBe(-2);
    const { memo: _, ...withMemo } = viaMemo;
    const { memo: __, ...without } = run(false);
    expect(withMemo).toEqual(without);
  });

  it('lets everything through at once with both budgets off', () => {
    const throttle = createPublishThrottle({
      device: { ratePerSecond: 0, burst: 1 },
      connection: { ratePerSecond: 0, burst: 1 },
    });
    let n = 0;
    for (let i = 0; i < 1000; i++) throttle.admit('a', null, () => n++);
    expect(n).toBe(1000);
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
