/**
 * Login sessions: random tokens held in memory (a console restart logs everyone out, which is
 * fine for a page kept open by a few people), each valid for `ttlMs` from login. Failed logins are
 * limited per client address so a password cannot be guessed at scrypt speed from the network.
 */
import crypto from 'node:crypto';

export const SESSION_COOKIE = 'earshot_session';

export interface SessionOptions {
  ttlMs?: number;
  clock?: () => number;
  /** Failed logins allowed per address per window. */
  maxFailures?: number;
  failureWindowMs?: number;
}

export class Sessions {
  private readonly tokens = new Map<string, number>();
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly opts: SessionOptions = {}) {}

  private now(): number {
    return (this.opts.clock ?? Date.now)();
  }

  get ttlMs(): number {
    return this.opts.ttlMs ?? 7 * 24 * 3600 * 1000;
  }

  /** Sessions and failure records held now (expired ones go at each login and failure). */
  get held(): { sessions: number; addresses: number } {
    return { sessions: this.tokens.size, addresses: this.failures.size };
  }

  create(): string {
    this.prune();
    const token = crypto.randomBytes(32).toString('base64url');
    this.tokens.set(token, this.now() + this.ttlMs);
    return token;
  }

  valid(token: string | undefined): boolean {
    if (!token) return false;
    const until = this.tokens.get(token);
    if (until === undefined) return false;
    if (until <= this.now()) {
      this.tokens.delete(token);
      return false;
    }
    return true;
  }

  end(token: string | undefined): void {
    if (token) this.tokens.delete(token);
  }

  /** Whether `address` may try a password now. */
  mayTry(address: string): boolean {
    return this.recentFailures(address).length < (this.opts.maxFailures ?? 10);
  }

  failed(address: string): void {
    this.prune();
    const list = this.recentFailures(address);
    list.push(this.now());
    this.failures.set(address, list);
  }

  /**
   * Forgets expired sessions and the failures of addresses that stopped trying: a console open to
   * a network for months would otherwise keep every token never presented again and every scanner's
   * address.
   */
  private prune(): void {
    const now = this.now();
    for (const [token, until] of this.tokens) if (until <= now) this.tokens.delete(token);
    for (const address of [...this.failures.keys()]) this.recentFailures(address);
  }

  private recentFailures(address: string): number[] {
    const since = this.now() - (this.opts.failureWindowMs ?? 10 * 60 * 1000);
    const list = (this.failures.get(address) ?? []).filter((t) => t > since);
    if (list.length === 0) this.failures.delete(address);
    return list;
  }
}

/** The value of one cookie in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}
