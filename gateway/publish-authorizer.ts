import type { AedesOptions } from 'aedes';
import { isTelemetryTopic } from '../pipelines/decode-telemetry.js';
import type { IngestPipeline } from '../pipelines/ingest-pipeline.js';
import { gatewayError } from './errors.js';

type AuthorizePublish = NonNullable<AedesOptions['authorizePublish']>;

export interface PublishAuthorizerDeps {
  pipeline: IngestPipeline;
  isDraining: () => boolean;
  now?: () => number;
}

/**
 * aedes writes PUBACK right after authorizePublish calls back
 * (lib/handlers/publish.js), and PUBREC after it for QoS 2, so holding the
 * callback until the group commit is how "ack means stored" is kept. A held
 * callback also stops aedes reading the connection's next chunk: TCP
 * backpressure for free. Calling back with an error makes aedes close the
 * connection without an ack, and an MQTT 3.1.1 client resends on reconnect
 * [MQTT-4.4.0-1]; the (device, metric, ts) key absorbs the duplicate.
 */
export function createPublishAuthorizer(deps: PublishAuthorizerDeps): AuthorizePublish {
  const now = deps.now ?? Date.now;
  return (_client, packet, callback) => {
    // Keep aedes' own refusal of $SYS publishes, wills included (aedes #597).
    if (packet.topic.startsWith('$SYS/')) return callback(gatewayError('GW_ERR_SYS_TOPIC'));
    if (!isTelemetryTopic(packet.topic)) return callback(null);
    if (deps.isDraining()) return callback(gatewayError('GW_ERR_SHUTTING_DOWN'));

    const qos = packet.qos;
    let called = false;
    const once = (err?: Error) => {
      if (called) return;
      called = true;
      callback(err ?? null);
    };
    deps.pipeline.offer(
      {
        topic: packet.topic,
        payload: typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload,
        qos,
        receivedAt: now(),
        // QoS 0 is best effort: it was let through on admission.
        settle: qos === 0 ? () => {} : once,
      },
      qos === 0 ? () => once() : () => {},
    );
  };
}
