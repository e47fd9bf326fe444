/**
 * The detection stack (model, front end, class map, site head) as a component of the agent: opened
 * at start (a missing model or an unusable head fails the start with its own error and exit code),
 * closed at stop.
 */
import type { Component } from '../component.js';
import type { DetectionStack } from './open-detection.js';

export class DetectionModel implements Component {
  readonly name = 'model';
  readonly stopLimitMs = 500;
  private opened?: DetectionStack;

  constructor(private readonly open: () => Promise<DetectionStack>) {}

  /** The opened stack; only asked for by components started after this one. */
  get stack(): DetectionStack {
    if (!this.opened) throw new Error('the detection model is not open');
    return this.opened;
  }

  async start(): Promise<void> {
    this.opened = await this.open();
  }

  async stop(): Promise<void> {
    const stack = this.opened;
    this.opened = undefined;
    await stack?.close();
  }
}
