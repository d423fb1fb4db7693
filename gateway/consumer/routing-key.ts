// RabbitMQ's MQTT plugin publishes to amq.topic with the topic's `/` turned
// into `.` (3.10.8, checked here: `devices/a.b/telemetry` arrives as
// `devices.a.b.telemetry`, and the message carries no header with the
// original topic, only x-mqtt-publish-qos and x-mqtt-dup). Device ids and
// metric names may contain dots (core/names.ts), so the key is mapped back
// only where the sensor contract makes it unambiguous.

import type { ErrorCode } from '../../core/errors.js';
import { NAME_PATTERN } from '../../core/names.js';
import type { TopicRoute } from '../../pipelines/telemetry.js';

export interface RoutedKey {
  /** the MQTT topic as the device published it, when it can be known */
  topic: string;
  route: TopicRoute | ErrorCode;
}

/**
 * devices.{id}.telemetry and devices.{id}.telemetry.{metric}: with exactly
 * one `telemetry` segment after the device, the two forms cannot be confused
 * (the whole form ends with it, the per-metric form does not), and the dots
 * around it belong to the id and the metric. A key with several (a device
 * id or metric with a `telemetry` segment of its own) could be read more
 * than one way: it is refused as GW_ERR_TOPIC_INVALID (dead-lettered, acked).
 */
export function routeRoutingKey(key: string): RoutedKey {
  const naive = key.replaceAll('.', '/');
  const parts = key.split('.');
  if (parts.length < 3 || parts[0] !== 'devices') return { topic: naive, route: 'GW_ERR_TOPIC_INVALID' };
  const marks: number[] = [];
  for (let i = 2; i < parts.length; i++) if (parts[i] === 'telemetry') marks.push(i);
  if (marks.length !== 1) return { topic: naive, route: 'GW_ERR_TOPIC_INVALID' };
  const at = marks[0]!;
  const deviceId = parts.slice(1, at).join('.');
  if (!NAME_PATTERN.test(deviceId)) return { topic: naive, route: 'GW_ERR_DEVICE_ID_INVALID' };
  if (at === parts.length - 1) return { topic: `devices/${deviceId}/telemetry`, route: { deviceId } };
  const metric = parts.slice(at + 1).join('.');
  const topic = `devices/${deviceId}/telemetry/${metric}`;
  if (!NAME_PATTERN.test(metric)) return { topic, route: 'GW_ERR_METRIC_NAME_INVALID' };
  return { topic, route: { deviceId, metric } };
}
