import { describe, expect, it } from 'vitest';
import { routeRoutingKey } from '../../gateway/consumer/routing-key.js';

describe('routeRoutingKey: RabbitMQ routing keys back to the sensor contract', () => {
  it('maps both topic forms', () => {
    expect(routeRoutingKey('devices.kitchen-pi.telemetry')).toEqual({
      topic: 'devices/kitchen-pi/telemetry',
      route: { deviceId: 'kitchen-pi' },
    });
    expect(routeRoutingKey('devices.kitchen-pi.telemetry.temperature')).toEqual({
      topic: 'devices/kitchen-pi/telemetry/temperature',
      route: { deviceId: 'kitchen-pi', metric: 'temperature' },
    });
  });

  it('keeps dots in device ids and metric names when one telemetry segment decides', () => {
    expect(routeRoutingKey('devices.site.a.pi.telemetry').route).toEqual({ deviceId: 'site.a.pi' });
    expect(routeRoutingKey('devices.a.b.telemetry.temp.c').route).toEqual({
      deviceId: 'a.b',
      metric: 'temp.c',
    });
  });

  it('refuses keys that read more than one way, or none', () => {
    // devices/a.telemetry/telemetry or devices/a/telemetry/telemetry
    expect(routeRoutingKey('devices.a.telemetry.telemetry').route).toBe('GW_ERR_TOPIC_INVALID');
    expect(routeRoutingKey('devices.a.status').route).toBe('GW_ERR_TOPIC_INVALID');
    expect(routeRoutingKey('v1.devices.me.telemetry').route).toBe('GW_ERR_TOPIC_INVALID');
    expect(routeRoutingKey('devices.telemetry').route).toBe('GW_ERR_TOPIC_INVALID');
    expect(routeRoutingKey('devices.a b.telemetry').route).toBe('GW_ERR_DEVICE_ID_INVALID');
    expect(routeRoutingKey('devices.a.telemetry.b c').route).toBe('GW_ERR_METRIC_NAME_INVALID');
  });
});
