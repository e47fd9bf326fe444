import { describe, expect, it } from 'vitest';
import { FeatureActivityGate } from '../../agent/pipeline/activity-gate.js';

const RATE = 32000;
let seed = 3;
const noise = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 2 - 1;
const signal = (f: (t: number) => number) => Float32Array.from({ length: 5 * RATE }, (_, i) => f(i / RATE));
const dbfs = (db: number) => 10 ** (db / 20);

describe('FeatureActivityGate', () => {
  const gate = new FeatureActivityGate();
  it('skips steady faint noise and silence', () => {
    expect(gate.decide(signal(() => noise() * dbfs(-55)), RATE).reason).toBe('quiet');
    expect(gate.decide(signal(() => 0), RATE).reason).toBe('quiet');
  });
  it('passes a loud window, a faint transient and a faint tone', () => {
    expect(gate.decide(signal(() => noise() * dbfs(-20)), RATE).reason).toBe('loud');
    expect(gate.decide(signal((t) => noise() * (t > 2 && t < 2.05 ? dbfs(-38) : dbfs(-60))), RATE).reason).toBe('transient');
    const tone = gate.decide(signal((t) => Math.sin(2 * Math.PI * 440 * t) * dbfs(-50) + noise() * dbfs(-110)), RATE);
    expect(tone.reason, JSON.stringify(tone)).toBe('tonal');
  });
  it('active() is the decision', () => {
    expect(gate.active(signal(() => 0), RATE)).toBe(false);
    expect(gate.active(signal(() => noise() * dbfs(-10)), RATE)).toBe(true);
  });
});
