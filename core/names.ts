// The one alphabet for device ids and metric names, shared by the sensor
// contract (pipelines), the registry (devices) and the adapters.
export const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * How a name from a foreign format (a zigbee2mqtt friendly name, a Sparkplug
 * metric, an Influx measurement) becomes a device id or a metric name: `/`
 * becomes `.` (Sparkplug's `Inputs/Temperature` → `Inputs.Temperature`) and
 * any other character outside [A-Za-z0-9_.-] becomes `_`. The result may
 * still be empty or longer than 64: NAME_PATTERN decides, as for any name.
 * Documented in docs/sensors.md.
 */
export function toStoredName(raw: string): string {
  // Most names need nothing: one test instead of two replaces (hot: every JSON key of a message).
  if (STORED_ALPHABET.test(raw)) return raw;
  return raw.replace(/\//g, '.').replace(/[^A-Za-z0-9_.-]/g, '_');
}

const STORED_ALPHABET = /^[A-Za-z0-9_.-]*$/;
