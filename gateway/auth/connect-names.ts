// Names in a CONNECT that aedes passes through but that no well-behaved
// client sends (field notes, bad input 5). mqtt-packet decodes strings with
// Buffer#toString, so invalid UTF-8 arrives as U+FFFD.

/** Device ids are at most 64 bytes; `{id}-suffix` ClientIds need some room beyond. */
export const MAX_CLIENT_ID_LENGTH = 256;

// U+0000 is forbidden in MQTT strings [MQTT-1.5.3-2]; U+FFFD marks bytes that were not UTF-8 [MQTT-1.5.3-1].
const notText = (s: string) => s.includes('\u0000') || s.includes('\uFFFD');

export function clientIdProblem(clientId: string): string | undefined {
  if (clientId.length > MAX_CLIENT_ID_LENGTH) return `longer than ${MAX_CLIENT_ID_LENGTH} characters`;
  if (notText(clientId)) return 'not valid UTF-8 text';
  if (/[+#]/.test(clientId)) return 'contains a topic wildcard';
  return undefined;
}

/**
 * A will is published to its topic: it must be a valid topic name
 * [MQTT-3.1.2-9], [MQTT-3.3.2-2]. Its QoS must not be 3 [MQTT-3.1.2-14]:
 * mqtt-packet decodes that and aedes accepts it, and a QoS the rest of the
 * gateway does not know once crashed it when the will was published.
 */
export function willProblem(will: { topic: string; qos?: number }): string | undefined {
  if ((will.qos ?? 0) > 2) return `QoS is ${will.qos}, which MQTT forbids`;
  if (will.topic.length === 0) return 'topic is empty';
  if (notText(will.topic)) return 'topic is not valid UTF-8 text';
  if (/[+#]/.test(will.topic)) return 'topic contains a topic wildcard';
  return undefined;
}
