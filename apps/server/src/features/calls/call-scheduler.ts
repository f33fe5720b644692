import type { TimerRef } from './call-types.ts';

/** Time, injected: the system clock in production, a fake one in tests (testing/fake-clock.ts). */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export const timerId = (t: TimerRef): string => `${t.kind}:${t.callId}${t.device ? `:${t.device}` : ''}`;

/**
 * The calls' timers (ring timeout, reconnect grace, resume wait), by absolute due time. A timer is
 * named by its TimerRef: scheduling it again moves it, cancelling a timer that is not there is a
 * no-op, and a timer that fires late or after its call moved on is harmless, because the lifecycle
 * ignores a timer its call's phase does not accept. That is what lets a Redis sorted set (score =
 * due time, member = timer id; each node polls and ZREMs what is due, and only the node whose ZREM
 * succeeded runs it) replace this one.
 */
export interface CallScheduler {
  schedule(timer: TimerRef, at: number): Promise<void>;
  cancel(timer: TimerRef): Promise<void>;
  /** Sets what runs when a timer is due. */
  start(onDue: (timer: TimerRef) => Promise<void>): void;
  /** Stops this node's timers. */
  close(): void;
}

export class InMemoryScheduler implements CallScheduler {
  private readonly timers = new Map<string, unknown>();
  private onDue: ((timer: TimerRef) => Promise<void>) | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly onError: (err: unknown, timer: TimerRef) => void,
  ) {}

  start(onDue: (timer: TimerRef) => Promise<void>): void {
    this.onDue = onDue;
  }

  async schedule(timer: TimerRef, at: number): Promise<void> {
    const id = timerId(timer);
    this.clock.clearTimeout(this.timers.get(id));
    const handle = this.clock.setTimeout(() => {
      if (this.timers.get(id) !== handle) return;
      this.timers.delete(id);
      this.onDue?.(timer).catch((err: unknown) => this.onError(err, timer));
    }, Math.max(0, at - this.clock.now()));
    this.timers.set(id, handle);
  }

  async cancel(timer: TimerRef): Promise<void> {
    const id = timerId(timer);
    this.clock.clearTimeout(this.timers.get(id));
    this.timers.delete(id);
  }

  /** How many timers wait (for tests and diagnostics). */
  get size(): number {
    return this.timers.size;
  }

  close(): void {
    for (const handle of this.timers.values()) this.clock.clearTimeout(handle);
    this.timers.clear();
  }
}
