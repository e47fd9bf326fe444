import path from 'node:path';
import type { CliContext } from './context.js';

/** A one-line progress display on stderr, only when stderr is a terminal (never in logs or pipes). */
export class ProgressLine {
  private done = 0;
  private shown = false;
  private readonly started = Date.now();

  constructor(
    private readonly ctx: CliContext,
    private readonly total: number,
  ) {}

  update(item: string): void {
    if (!this.ctx.isTTY) return;
    const pct = Math.floor((100 * this.done) / Math.max(1, this.total));
    const width = 24;
    const filled = Math.round((width * this.done) / Math.max(1, this.total));
    const elapsed = (Date.now() - this.started) / 1000;
    const eta = this.done > 0 ? (elapsed / this.done) * (this.total - this.done) : NaN;
    const etaText = Number.isFinite(eta) ? ` ETA ${Math.ceil(eta)}s` : '';
    this.ctx.stderr(`\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct}% ${this.done + 1}/${this.total}${etaText} ${path.basename(item)}`);
    this.shown = true;
    this.done++;
  }

  clear(): void {
    if (this.shown) this.ctx.stderr('\r\x1b[2K');
    this.shown = false;
  }
}
