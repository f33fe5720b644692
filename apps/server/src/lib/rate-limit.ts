/**
 * Counts failures per key in a fixed window. Used for sign-in: a key is blocked after `max` failures
 * until its window ends, so an attacker can hold an account's lock for at most `windowMs` at a time
 * and only by keeping up the attempts, and a correct password from another address still works
 * (see docs/decisions/002-sign-in-throttling.md).
 */
export class FailureLimiter {
  private readonly entries = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until `key` may try again, or 0 when it may try now. */
  blockedFor(key: string): number {
    const e = this.entries.get(key);
    if (!e) return 0;
    const t = this.now();
    if (t >= e.resetAt) {
      this.entries.delete(key);
      return 0;
    }
    return e.count >= this.max ? e.resetAt - t : 0;
  }

  fail(key: string): void {
    const t = this.now();
    const e = this.entries.get(key);
    if (!e || t >= e.resetAt) this.entries.set(key, { count: 1, resetAt: t + this.windowMs });
    else e.count++;
    if (this.entries.size > 100_000) this.sweep();
  }

  reset(key: string): void {
    this.entries.delete(key);
  }

  private sweep(): void {
    const t = this.now();
    for (const [k, e] of this.entries) if (t >= e.resetAt) this.entries.delete(k);
  }
}
