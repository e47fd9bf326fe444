import { describe, expect, it } from 'vitest';
import { configIssuesOf } from '../helpers/errors.js';
import { compileClassMap, defaultClassMapPath, labelScore, parseClassMap, readClassMap, topEvidence } from '../../models/classmap.js';
import { audiosetLabels } from '../helpers/model-labels.js';

const labels = audiosetLabels();


describe('the shipped class map', () => {
  const map = readClassMap(defaultClassMapPath(), labels);
  const compiled = compileClassMap(map, labels);

  it('covers the required alert labels with categories', () => {
    const byName = Object.fromEntries(compiled.labels.map((l) => [l.name, l.category]));
    expect(byName).toMatchObject({ gunshot: 'threat', chainsaw: 'threat', vehicle: 'threat', human_voice: 'human', dog: 'human', bird: 'wildlife', frog: 'wildlife', insect: 'wildlife', rain: 'environment', wind: 'environment', thunder: 'environment' });
  });

  it('counts fireworks-like tags as gunshot evidence', () => {
    const gun = compiled.labels.find((l) => l.name === 'gunshot')!;
    const probs = new Float32Array(labels.length);
    probs[labels.indexOf('Fireworks')] = 0.3;
    probs[labels.indexOf('Firecracker')] = 0.21;
    const score = labelScore(gun, probs);
    // noisy-or of two pieces of evidence, then shifted in log-odds so that raw 0.015 reads 0.5
    const raw = 1 - (1 - 0.3) * (1 - 0.21);
    const logit = (p: number) => Math.log(p / (1 - p));
    expect(score).toBeCloseTo(1 / (1 + Math.exp(-(logit(raw) - logit(0.015)))), 6);
    const one = new Float32Array(labels.length);
    one[labels.indexOf('Fireworks')] = 0.3;
    expect(labelScore(gun, probs)).toBeGreaterThan(labelScore(gun, one));
    one[labels.indexOf('Fireworks')] = 0.015;
    expect(labelScore(gun, one)).toBeCloseTo(0.5, 6);
    expect(topEvidence(gun, probs, labels, 2).map((e) => e.label)).toEqual(['Fireworks', 'Firecracker']);
  });

  it('thunder and rain speak against a gunshot: the combined score is scaled by 1 - 3p per label', () => {
    const gun = compiled.labels.find((l) => l.name === 'gunshot')!;
    const storm = new Float32Array(labels.length);
    storm[labels.indexOf('Fireworks')] = 0.1;
    const clear = labelScore(gun, storm);
    storm[labels.indexOf('Thunder')] = 0.2;
    const logit = (p: number) => Math.log(p / (1 - p));
    expect(labelScore(gun, storm)).toBeCloseTo(1 / (1 + Math.exp(-(logit(0.1 * (1 - 3 * 0.2)) - logit(0.015)))), 6);
    expect(labelScore(gun, storm)).toBeLessThan(clear);
    storm[labels.indexOf('Rain')] = 0.5; // 1 - 3 × 0.5 < 0: no gunshot at all in a downpour this loud
    expect(labelScore(gun, storm)).toBeLessThan(1e-5);
  });

  it('a suppress label the model does not have is a class map error naming it', () => {
    const text = `version: 1\nmodel: m\nlabels:\n  gunshot:\n    category: threat\n    threshold: 0.5\n    suppress: [{ label: "Thundr", weight: 2 }]\n    evidence: [{ label: "Gunshot, gunfire" }]\n`;
    expect(configIssuesOf(() => parseClassMap(text, 'map.yaml', labels))).toEqual(['labels.gunshot.suppress.0.label: "Thundr" is not a label of model m']);
  });

  it('human_voice takes the voice detector as evidence; other labels ignore it', () => {
    const voice = compiled.labels.find((l) => l.name === 'human_voice')!;
    const gun = compiled.labels.find((l) => l.name === 'gunshot')!;
    const silent = new Float32Array(labels.length);
    expect(labelScore(voice, silent, 0)).toBe(0);
    expect(labelScore(voice, silent, 0.8)).toBeCloseTo(0.8, 6);
    expect(labelScore(gun, silent, 0.8)).toBe(labelScore(gun, silent, 0));
  });

  it('keeps no voice clips by default (privacy)', () => {
    expect(compiled.labels.find((l) => l.name === 'human_voice')!.keepClips).toBe(false);
  });

  it('applies configuration overrides and rejects unknown labels', () => {
    const c = compileClassMap(map, labels, { gunshot: { threshold: 0.2 }, dog: { enabled: false } });
    expect(c.labels.find((l) => l.name === 'gunshot')!.threshold).toBe(0.2);
    expect(c.labels.find((l) => l.name === 'dog')!.enabled).toBe(false);
    const issues = configIssuesOf(() => compileClassMap(map, labels, { gunshoot: { threshold: 0.2 } }));
    expect(issues[0]).toMatch(/^detection\.labels\.gunshoot: not a label of the class map; accepted: gunshot, /);
  });
});

describe('bad class maps give clear errors', () => {
  it('names a model label the model does not have', () => {
    const text = 'version: 1\nmodel: m\nlabels:\n  gunshot:\n    category: threat\n    threshold: 0.3\n    evidence: [{label: "Gun shot"}]\n';
    expect(configIssuesOf(() => parseClassMap(text, 'map.yaml', labels))).toEqual(['labels.gunshot.evidence.0.label: "Gun shot" is not a label of model m']);
  });
  it('names bad fields with their path', () => {
    const text = 'version: 1\nmodel: m\nlabels:\n  gunshot:\n    category: danger\n    threshold: 2\n    evidence: []\n';
    const issues = configIssuesOf(() => parseClassMap(text, 'map.yaml', labels));
    expect(issues.some((i) => i.startsWith('labels.gunshot.category:'))).toBe(true);
    expect(issues.some((i) => i.startsWith('labels.gunshot.threshold:'))).toBe(true);
    expect(issues.some((i) => i.startsWith('labels.gunshot.evidence:'))).toBe(true);
  });
  it('reports YAML syntax errors with the file name', () => {
    expect(() => parseClassMap('labels: [unclosed', 'map.yaml', labels)).toThrow(/map\.yaml: 1 problem.*\n.*not valid YAML/);
  });
});
