// Payloads as each format's published documentation shows them. The source
// is named beside each; values are the documented ones.

/** https://tasmota.github.io/docs/BME280/ (tele/%topic%/SENSOR of a BME280) */
export const TASMOTA_BME280 =
  '{"Time":"2021-01-01T12:00:00","BME280":{"Temperature":24.1,"Humidity":42.5,"DewPoint":10.6,"Pressure":1015.2},"PressureUnit":"hPa","TempUnit":"C"}';

/** https://tasmota.github.io/docs/Power-Monitoring-Calibration/ (the ENERGY block of a plug) */
export const TASMOTA_ENERGY =
  '{"Time":"2021-01-01T12:00:00","ENERGY":{"TotalStartTime":"2020-12-01T00:00:00","Total":12.345,"Yesterday":0.456,"Today":0.123,"Power":58,"ApparentPower":70,"ReactivePower":39,"Factor":0.83,"Voltage":231,"Current":0.303}}';

/** https://www.zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages.html (Xiaomi WSDCGQ01LM, RTCGQ01LM) */
export const Z2M_TEMPERATURE = '{"temperature": 27.34, "humidity": 44.72}';
export const Z2M_OCCUPANCY =
  '{"occupancy": true, "linkquality": 120, "battery": 100, "last_seen": "2021-01-01T12:00:00+01:00"}';
export const Z2M_BRIDGE_STATE = '{"state":"online"}';

/** https://www.home-assistant.io/integrations/mqtt/#sensors (the documented discovery example, no node_id) */
export const HA_DISCOVERY_TOPIC = 'homeassistant/sensor/sensorBedroomT/config';
export const HA_DISCOVERY = JSON.stringify({
  device_class: 'temperature',
  state_topic: 'homeassistant/sensor/sensorBedroom/state',
  unit_of_measurement: '°C',
  value_template: '{{ value_json.temperature}}',
  unique_id: 'temp01ae',
  device: { identifiers: ['bedroom01ae'], name: 'Bedroom' },
});
export const HA_STATE_TOPIC = 'homeassistant/sensor/sensorBedroom/state';
export const HA_STATE = '{ "temperature": 23.20, "humidity": 43.70 }';

/** ESPHome's MQTT discovery (https://esphome.io/components/mqtt.html): abbreviated keys, node_id = node name */
export const ESPHOME_DISCOVERY_TOPIC = 'homeassistant/sensor/livingroom/livingroom_temperature/config';
export const ESPHOME_DISCOVERY = JSON.stringify({
  dev_cla: 'temperature',
  unit_of_meas: '°C',
  stat_cla: 'measurement',
  name: 'Living Room Temperature',
  stat_t: 'livingroom/sensor/livingroom_temperature/state',
  uniq_id: 'ESPsensorlivingroom_temperature',
  dev: { ids: '240ac4123456', name: 'livingroom' },
});
export const ESPHOME_STATE_TOPIC = 'livingroom/sensor/livingroom_temperature/state';

/** https://docs.influxdata.com/influxdb/v2/reference/syntax/line-protocol/ (the documented examples) */
export const INFLUX_LINES = [
  'myMeasurement,tag1=value1,tag2=value2,host=server01 fieldKey="fieldValue" 1556813561098000000',
  'cpu,host=server01,region=us-west usage_idle=92.5,usage_user=3i,online=true 1556813561098000000',
  '# a comment line',
  'weather,location=us-midwest,device=station\\ 7 temperature=82,humidity=71i 1465839830100400200',
].join('\n');
