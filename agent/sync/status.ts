/** The retained `<prefix>/<device>/status` payload, also the Last Will (`offline`). */
export interface StatusPayload {
  state: 'online' | 'offline';
  version: string;
  /** ISO time the agent started. */
  startedAt: string;
}

export function statusPayload(state: StatusPayload['state'], identity: Omit<StatusPayload, 'state'>): string {
  const payload: StatusPayload = { state, version: identity.version, startedAt: identity.startedAt };
  return JSON.stringify(payload);
}
