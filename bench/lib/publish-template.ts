import mqttPacket from 'mqtt-packet';

const TS_DIGITS = 13;

/**
 * A QoS 1 PUBLISH for one device, encoded once. Each send copies the bytes
 * and patches the message id and the 13 ASCII digits of "ts", so every
 * message is a distinct reading (no duplicates for the store to skip) at the
 * cost of a memcpy.
 */
export function createPublishTemplate(topic: string, metrics: number) {
  const values: Record<string, number> = {};
  for (let m = 0; m < metrics; m++) values[`m${m}`] = 20 + m;
  const payload = JSON.stringify({ ts: 1_000_000_000_000, values });
  const packet = mqttPacket.generate({
    cmd: 'publish',
    topic,
    payload,
    qos: 1,
    messageId: 1,
    retain: false,
    dup: false,
  });
  const tsAt = packet.indexOf('1000000000000');
  // Fixed header (1 byte + length varint) + topic length (2) + topic, then the id.
  const idAt = packet.indexOf(Buffer.from(topic)) + Buffer.byteLength(topic);
  return (messageId: number, ts: number): Buffer => {
    const out = Buffer.allocUnsafe(packet.length);
    packet.copy(out);
    out.writeUInt16BE(messageId, idAt);
    let t = ts;
    for (let i = TS_DIGITS - 1; i >= 0; i--) {
      out[tsAt + i] = 48 + (t % 10);
      t = Math.floor(t / 10);
    }
    return out;
  };
}
