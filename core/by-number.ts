// Values by a small number (a device's, pipelines/device-numbers.ts) in a
// plain array, found by index. Set only through setByNumber: an index far
// past the end would leave a hole, and V8 would turn the array into a hash
// table, the very lookup the number is there to spare.

export function setByNumber<T>(into: Array<T | undefined>, index: number, value: T | undefined): void {
  while (into.length <= index) into.push(undefined);
  into[index] = value;
}
