// The one alphabet for device ids and metric names, shared by the sensor
// contract (pipelines), the registry (devices) and the adapters.
export const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
