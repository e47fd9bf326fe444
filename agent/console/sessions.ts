/**
 * Login sessions: random tokens, each valid for `ttlMs` from login. Only a digest of each token is
 * held, bound to the password (`secret`): a new password ends every session. With a `keeper` (the
 * HQ console's SQLite) sessions outlive a console restart; without one (device mode) they live in
 * memory. Failed logins are limited per client address so a password cannot be guessed at scrypt
 * speed from the network.
 */
import crypto from 'node:crypto';

export const SESSION_COOKIE = 'earshot_session';

/** Where sessions outlive the process; it only ever sees digests, never a token. */
export interface SessionKeeper {
  loadSessions(nowMs: number): [digest: string, untilMs: number][];
  saveSession(digest: string, untilMs: number): void;
  removeSession(digest: string): void;
  removeExpiredSessions(nowMs: number): void;
}

export interface SessionOptions {
  keeper?: SessionKeeper;
  /** Binds the sessions to the password (its stored hash): tokens issued under another one are not valid. */
  secret?: string;
  ttlMs?: number;
  clock?: () => number;
  /** Failed logins allowed per address per window. */
  maxFailures?: number;
  failureWindowMs?: number;
}

export class Sessions {
  /** digest of a token -> valid until (ms). */
  private readonly tokens = new Map<string, number>();
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly opts: SessionOptions = {}) {
    for (const [digest, until] of this.keep(() => opts.keeper?.loadSessions(this.now())) ?? []) this.tokens.set(digest, until);
  }

  private digest(token: string): string {
    return crypto
      .createHash('sha256')
      .update(`${this.opts.secret ?? ''}\0${token}`)
      .digest('hex');
  }

  /** A keeper that fails (a full disk, a damaged file) costs persistence, never a login. */
  private keep<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch {
      return undefined;
    }
  }

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
    const digest = this.digest(token);
    const until = this.now() + this.ttlMs;
    this.tokens.set(digest, until);
    this.keep(() => this.opts.keeper?.saveSession(digest, until));
    return token;
  }

  valid(token: string | undefined): boolean {
    if (!token) return false;
    const digest = this.digest(token);
    const until = this.tokens.get(digest);
    if (until === undefined) return false;
    if (until <= this.now()) {
      this.tokens.delete(digest);
      return false;
    }
    return true;
  }

  end(token: string | undefined): void {
    if (!token) return;
    const digest = this.digest(token);
    this.tokens.delete(digest);
    this.keep(() => this.opts.keeper?.removeSession(digest));
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
    for (const [digest, until] of this.tokens) if (until <= now) this.tokens.delete(digest);
    this.keep(() => this.opts.keeper?.removeExpiredSessions(now));
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
