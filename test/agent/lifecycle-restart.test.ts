/**
 * Restarts are serialised: SIGHUPs during a restart coalesce into at most one more restart, and
 * SIGTERM during a restart waits for it and then stops the one running agent, so no agent is left
 * capturing after the lifecycle resolves. Fake agents whose start/stop the test releases by hand.
 */
import { EventEmitter } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import type { AgentOptions } from '../../agent/agent.js';
import { runAgent, type RunnableAgent } from '../../agent/lifecycle.js';
import { silentLogger } from '../../agent/log.js';

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}
function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Agents whose start() and stop() finish only when the test releases them (or at once when `auto`). */
class Fleet {
  readonly agents: FakeAgent[] = [];
  running = 0;
  maxRunning = 0;
  auto = true;
  create = (o: AgentOptions): RunnableAgent => {
    const a = new FakeAgent(this, o.config);
    this.agents.push(a);
    return a;
  };
  get started() {
    return this.agents.filter((a) => a.startCalls > 0).length;
  }
  get stopped() {
    return this.agents.filter((a) => a.stopCalls > 0).length;
  }
}

class FakeAgent implements RunnableAgent {
  startCalls = 0;
  stopCalls = 0;
  /** Running from the moment start() is called until its stop() has finished. */
  live = false;
  readonly starting = deferred();
  readonly stopping = deferred();
  private stopped?: Promise<void>;
  constructor(
    private readonly fleet: Fleet,
    readonly config: Config,
  ) {}
  async start(): Promise<void> {
    this.startCalls++;
    this.live = true;
    this.fleet.running++;
    this.fleet.maxRunning = Math.max(this.fleet.maxRunning, this.fleet.running);
    if (this.fleet.auto) this.starting.resolve();
    await this.starting.promise;
  }
  stop(): Promise<void> {
    this.stopCalls++;
    this.stopped ??= (async () => {
      if (this.fleet.auto) this.stopping.resolve();
      await this.stopping.promise;
      if (this.live) this.fleet.running--;
      this.live = false;
    })();
    return this.stopped;
  }
}

/** Lets pending promise callbacks and immediates run. */
const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

function setup(auto = true) {
  const config = validateConfig({ device: { id: 'hup' }, storage: { dataDir: path.join(os.tmpdir(), 'earshot-hup-unused') }, mqtt: { enabled: false } }, 'test');
  const proc = new EventEmitter();
  const fleet = new Fleet();
  fleet.auto = auto;
  let reloads = 0;
  // Every reload is a changed configuration (a new device name).
  const reload = () => ({ ...config, device: { ...config.device, name: `reload-${++reloads}` } });
  const done = runAgent({
    config,
    configFile: path.join(os.tmpdir(), 'earshot-hup.yaml'),
    env: {},
    logger: silentLogger(),
    reload,
    validate: () => undefined,
    proc: proc as unknown as NodeJS.Process,
    createAgent: fleet.create,
  });
  return { proc, fleet, done };
}

describe('runAgent: serialised restarts', () => {
  // SIGTERM at several points of the restarts: while the old agent stops, while new ones start, after.
  it.each([0, 1, 2, 3, 5, 30])('two quick SIGHUPs, SIGTERM %i turns later: every started agent is stopped, at most one runs at a time', async (turns) => {
    const { proc, fleet, done } = setup();
    await settle();
    expect(fleet.started).toBe(1);
    proc.emit('SIGHUP');
    proc.emit('SIGHUP');
    for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
    proc.emit('SIGTERM');
    expect(await done).toBe(0);
    await settle();
    expect(fleet.agents.filter((a) => a.live)).toEqual([]);
    expect(fleet.stopped).toBe(fleet.started);
    expect(fleet.maxRunning).toBe(1);
    expect(fleet.started).toBeLessThanOrEqual(3);
    expect(proc.listenerCount('SIGHUP')).toBe(0);
  });

  it('SIGHUPs during a restart coalesce into one more restart with the latest configuration', async () => {
    const { proc, fleet, done } = setup();
    await settle();
    fleet.auto = false;
    const [a] = fleet.agents;
    proc.emit('SIGHUP'); // reload-1: restart begins, A is stopping
    await settle();
    expect(a!.stopCalls).toBe(1);
    proc.emit('SIGHUP'); // reload-2: queued
    proc.emit('SIGHUP'); // reload-3: replaces the queued one
    await settle();
    expect(a!.stopCalls).toBe(1);
    expect(fleet.agents).toHaveLength(1);
    a!.stopping.resolve();
    await settle();
    expect(fleet.agents).toHaveLength(2);
    const b = fleet.agents[1]!;
    expect(b.config.device.name).toBe('reload-1');
    expect(b.stopCalls).toBe(0); // not stopped while starting
    b.starting.resolve();
    await settle();
    expect(b.stopCalls).toBe(1); // the queued restart
    b.stopping.resolve();
    await settle();
    expect(fleet.agents).toHaveLength(3);
    const c = fleet.agents[2]!;
    expect(c.config.device.name).toBe('reload-3');
    c.starting.resolve();
    await settle();
    expect(fleet.agents).toHaveLength(3);
    expect(fleet.maxRunning).toBe(1);
    fleet.auto = true;
    c.stopping.resolve();
    proc.emit('SIGTERM');
    expect(await done).toBe(0);
    expect(fleet.agents.map((x) => x.live)).toEqual([false, false, false]);
  });

  it('SIGTERM while the new agent starts: waits for the start, then stops that agent', async () => {
    const { proc, fleet, done } = setup();
    await settle();
    fleet.auto = false;
    const a = fleet.agents[0]!;
    a.stopping.resolve();
    proc.emit('SIGHUP');
    await settle();
    expect(fleet.agents).toHaveLength(2);
    const b = fleet.agents[1]!;
    let resolved = false;
    void done.then(() => (resolved = true));
    proc.emit('SIGTERM');
    proc.emit('SIGHUP'); // ignored: stopping
    await settle();
    expect(resolved).toBe(false);
    expect(b.stopCalls).toBe(0);
    b.starting.resolve();
    await settle();
    expect(b.stopCalls).toBe(1);
    b.stopping.resolve();
    expect(await done).toBe(0);
    expect(fleet.agents).toHaveLength(2);
    expect(b.live).toBe(false);
  });

  it('SIGHUP during the first start: the restart waits for that start', async () => {
    const { proc, fleet, done } = setup(false);
    const a = fleet.agents[0]!;
    proc.emit('SIGHUP');
    await settle();
    expect(a.stopCalls).toBe(0);
    a.starting.resolve();
    a.stopping.resolve();
    await settle();
    expect(a.stopCalls).toBe(1);
    expect(fleet.agents).toHaveLength(2);
    fleet.auto = true;
    fleet.agents[1]!.starting.resolve();
    fleet.agents[1]!.stopping.resolve();
    await settle();
    proc.emit('SIGTERM');
    expect(await done).toBe(0);
    expect(fleet.agents.map((x) => x.live)).toEqual([false, false]);
    expect(fleet.maxRunning).toBe(1);
  });
});
