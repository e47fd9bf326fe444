/** The device's MQTT topics (DESIGN.md): `<prefix>/<device>/{status,events,health,request/<action>,response/<action>}`. */
export interface Topics {
  status: string;
  events: string;
  health: string;
  /** Subscription filter for every request to this device. */
  requests: string;
  response(action: string): string;
  /** The action of a request topic, or undefined when the topic is not a request to this device. */
  actionOf(topic: string): string | undefined;
}

export function topicsFor(prefix: string, device: string): Topics {
  const base = `${prefix.replace(/\/+$/, '')}/${device}`;
  const requestBase = `${base}/request/`;
  return {
    status: `${base}/status`,
    events: `${base}/events`,
    health: `${base}/health`,
    requests: `${requestBase}#`,
    response: (action) => `${base}/response/${action}`,
    actionOf: (topic) => (topic.startsWith(requestBase) ? topic.slice(requestBase.length) : undefined),
  };
}
