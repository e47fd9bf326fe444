/**
 * The site head as live and offline events name it: which head scored an event's label.
 */
import type { HeadRef } from '../event.js';

/** A site head as events name it, and the labels it scores. */
export interface ScoringHead {
  ref: HeadRef;
  labels: readonly string[];
}

/** The `ScoringHead` of a detection stack's head (undefined without one). */
export function scoringHead(head: { ref: HeadRef; labels: readonly { name: string }[] } | undefined): ScoringHead | undefined {
  return head ? { ref: { name: head.ref.name, sha256: head.ref.sha256 }, labels: head.labels.map((l) => l.name) } : undefined;
}

/** The `head` field of an event of `label`: set when the head scored that label. */
export function eventHeadField(head: ScoringHead | undefined, label: string): { head: HeadRef } | Record<string, never> {
  return head && head.labels.includes(label) ? { head: { name: head.ref.name, sha256: head.ref.sha256 } } : {};
}
