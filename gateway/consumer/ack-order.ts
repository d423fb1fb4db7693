// PUBACKs of one connection in the order its PUBLISHes arrived: "it MUST
// send PUBACK packets in the order in which the corresponding PUBLISH
// packets were received (QoS 1 messages)" [MQTT-4.6.0-2]. Messages of a
// window may settle in any order; an ack leaves only once every earlier
// message of the connection has settled too, and the acks that become due
// together are handed over as one list (one socket write).

export interface AckOrder {
  /** A QoS 1 PUBLISH arrived: returns the callback that marks it settled. */
  received(messageId: number): () => void;
  /** messages received and not yet acked */
  readonly pending: number;
}

export function createAckOrder(send: (messageIds: number[]) => void): AckOrder {
  // A FIFO of slots; `head` indexes the oldest unacked one, so acking the
  // prefix is O(acked) with an occasional compaction.
  let slots: Array<{ id: number; done: boolean }> = [];
  let head = 0;
  const flush = () => {
    const due: number[] = [];
    while (head < slots.length && slots[head]!.done) due.push(slots[head++]!.id);
    if (head > 1024 && head * 2 > slots.length) {
      slots = slots.slice(head);
      head = 0;
    }
    if (due.length > 0) send(due);
  };
  return {
    received(messageId) {
      const slot = { id: messageId, done: false };
      slots.push(slot);
      return () => {
        if (slot.done) return;
        slot.done = true;
        flush();
      };
    },
    get pending() {
      return slots.length - head;
    },
  };
}
