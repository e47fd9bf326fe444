/**
 * The console's subscriptions and how an incoming topic maps to a device and a kind. With a share
 * group, only events go through `$share/<group>/…`: the broker hands each event to one member of
 * the group (several consoles split the load), but retained messages are never delivered on a
 * shared subscription (MQTT 5 §4.8.2), and status and health are retained, so every console
 * subscribes to them normally.
 */
export type MessageKind = 'status' | 'health' | 'events';

export function consoleSubscriptions(prefix: string, share?: string): string[] {
  const p = prefix.replace(/\/+$/, '');
  const events = `${p}/+/events`;
  return [`${p}/+/status`, `${p}/+/health`, share ? `$share/${share}/${events}` : events];
}

/** A share group name: one topic level without wildcards. */
export function checkShareGroup(group: string): string | undefined {
  if (!/^[^/#+\s]{1,64}$/.test(group)) return `--share ${JSON.stringify(group)}: expected a group name of 1 to 64 characters without "/", "+", "#" or spaces`;
  return undefined;
}

/** The device and kind of `<prefix>/<device>/<kind>`, or undefined for any other topic (responses of clip requests share the connection). */
export function classifyTopic(prefix: string, topic: string): { device: string; kind: MessageKind } | undefined {
  const p = `${prefix.replace(/\/+$/, '')}/`;
  if (!topic.startsWith(p)) return undefined;
  const rest = topic.slice(p.length).split('/');
  if (rest.length !== 2) return undefined;
  const [device, kind] = rest as [string, string];
  if (kind !== 'status' && kind !== 'health' && kind !== 'events') return undefined;
  return { device, kind };
}
