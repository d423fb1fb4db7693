import type { Aedes } from 'aedes';
import type { AlertMessage } from '../../pipelines/analytics/analytics.js';

export interface AlertRelay {
  publish(topic: string, alert: AlertMessage): Promise<void>;
  attach(broker: Pick<Aedes, 'publish'>): void;
}

/**
 * The analytics start before the broker (the pipeline it feeds taps them),
 * yet publish their alerts through it. Before it is attached no reading has
 * flowed, so no alert can be lost.
 */
export function createAlertRelay(): AlertRelay {
  let broker: Pick<Aedes, 'publish'> | undefined;
  return {
    attach(b) {
      broker = b;
    },
    publish: (topic, alert) =>
      new Promise<void>((resolve) => {
        if (broker === undefined) return resolve();
        const payload = JSON.stringify(alert);
        const packet = { cmd: 'publish', topic, payload, qos: 0, dup: false, retain: false } as const;
        broker.publish(packet, () => resolve());
      }),
  };
}
