import { describe, expect, it } from 'vitest';
import { createAckOrder } from '../../gateway/consumer/ack-order.js';

describe('createAckOrder: PUBACKs in the order received [MQTT-4.6.0-2]', () => {
  it('holds a later ack until every earlier message settled, then sends them together', () => {
    const sent: number[][] = [];
    const order = createAckOrder((ids) => sent.push(ids));
    const [a, b, c] = [order.received(7), order.received(3), order.received(9)];
    c!();
    b!();
    expect(sent).toEqual([]);
    expect(order.pending).toBe(3);
    a!();
    expect(sent).toEqual([[7, 3, 9]]);
    expect(order.pending).toBe(0);
  });

  it('acks in arrival order when settled in order, once each', () => {
    const sent: number[][] = [];
    const order = createAckOrder((ids) => sent.push(ids));
    const marks = Array.from({ length: 3000 }, (_, i) => order.received((i % 65535) + 1));
    for (const m of marks) {
      m();
      m();
    }
    expect(sent.flat()).toEqual(Array.from({ length: 3000 }, (_, i) => (i % 65535) + 1));
    expect(order.pending).toBe(0);
  });
});
