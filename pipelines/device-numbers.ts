// Small stable numbers for device ids, given on the main thread where a
// connection's route is worked out (once per connection and topic), and
// carried with each batch beside its device dictionary. Whoever keeps state
// per device behind the batch (the SQLite writer's cache of series ids, the
// analytics' series slots) then finds it by index, not by hashing the
// device's name once per message: with 5000 devices those lookups went to a
// table far bigger than the cache, about 2 % of the main thread and 7 % of
// the writer at saturation.
//
// Numbers live as long as the process. Past MAX_DEVICE_NUMBERS ids (a fleet
// inventing names) a new id gets none, and its readings take the lookups by
// name, as before.

export const MAX_DEVICE_NUMBERS = 1_000_000;
/** no number: the device is found by name */
export const NO_DEVICE_NUMBER = -1;

export interface DeviceNumbers {
  /** the id's number, given on first sight; NO_DEVICE_NUMBER past MAX_DEVICE_NUMBERS ids */
  of(deviceId: string): number;
  readonly size: number;
}

export function createDeviceNumbers(max = MAX_DEVICE_NUMBERS): DeviceNumbers {
  const numbers = new Map<string, number>();
  return {
    of(deviceId) {
      let n = numbers.get(deviceId);
      if (n === undefined) {
        if (numbers.size >= max) return NO_DEVICE_NUMBER;
        n = numbers.size;
        numbers.set(deviceId, n);
      }
      return n;
    },
    get size() {
      return numbers.size;
    },
  };
}
