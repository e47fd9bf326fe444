/**
 * The agent's run state in the store's key/value state (key `agent.run`): written when the agent
 * has started and when it stops, read by `earshot status` (a separate process) to tell a running
 * agent (its pid alive) from the record of one that has stopped or died.
 */
import type { Component } from './component.js';
import type { Logger } from './log.js';
import type { Store } from './store/types.js';

export const RUN_STATE_KEY = 'agent.run';

export interface RunState {
  state: 'running' | 'stopped';
  pid: number;
  /** ISO times. */
  startedAt: string;
  updatedAt: string;
  /** The configured source kind and its description (command, file, "stdin"). */
  source: string;
  description: string;
  version: string;
}

/** What stays the same for the whole run. */
export type RunIdentity = Omit<RunState, 'state' | 'updatedAt'>;

export function saveRunState(store: Pick<Store, 'setState'>, identity: RunIdentity, state: RunState['state'], nowMs: number): void {
  const run: RunState = { state, pid: identity.pid, startedAt: identity.startedAt, updatedAt: new Date(nowMs).toISOString(), source: identity.source, description: identity.description, version: identity.version };
  store.setState(RUN_STATE_KEY, JSON.stringify(run));
}

/** The stored run state; undefined when there is none or it is damaged. */
export function readRunState(text: string | undefined): RunState | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as Partial<RunState> | null;
    if (v && (v.state === 'running' || v.state === 'stopped') && typeof v.pid === 'number' && typeof v.startedAt === 'string') return v as RunState;
  } catch {
    // A damaged record reads as none.
  }
  return undefined;
}

/** Records `running` once every component before it has started, and `stopped` when the agent stops. */
export class RunStateRecorder implements Component {
  readonly name = 'run state';

  constructor(
    private readonly store: Pick<Store, 'setState'>,
    private readonly identity: RunIdentity,
    private readonly clock: () => number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.save('running');
  }

  stop(): void {
    this.save('stopped');
  }

  private save(state: RunState['state']): void {
    try {
      saveRunState(this.store, this.identity, state, this.clock());
    } catch (err) {
      this.logger.warn({ component: this.name, err: (err as Error).message }, 'run state not saved');
    }
  }
}
