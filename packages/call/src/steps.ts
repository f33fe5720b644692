import { describeError } from './errors.ts';
import type { Clock, Logger } from './webrtc.ts';

/**
 * Runs the engine's steps and delivers the events a step produced only once it is complete. A
 * listener that calls back into the engine (accept() from a `state` listener, hangup() from a
 * `signal` listener) therefore always sees a finished step, and signals leave in causal order.
 */
export class StepQueue {
  #outbox: (() => void)[] = [];
  #depth = 0;
  #flushing = false;

  run(step: () => void): void {
    this.#depth++;
    try {
      step();
    } finally {
      this.#depth--;
      if (this.#depth === 0 && !this.#flushing) this.#flush();
    }
  }

  /** Delivers `event` after the current step (at once outside any step). */
  later(event: () => void): void {
    this.#outbox.push(event);
    if (this.#depth === 0 && !this.#flushing) this.#flush();
  }

  #flush(): void {
    this.#flushing = true;
    try {
      for (let next = this.#outbox.shift(); next; next = this.#outbox.shift()) next();
    } finally {
      this.#flushing = false;
    }
  }
}

/** Named one-shot timers on an injected clock; arming a name again replaces its timer. */
export class Timers<Name extends string> {
  readonly #clock: Clock;
  readonly #log: () => Logger;
  readonly #run: (callback: () => void) => void;
  readonly #handles = new Map<Name, unknown>();

  constructor(clock: Clock, log: () => Logger, run: (callback: () => void) => void) {
    this.#clock = clock;
    this.#log = log;
    this.#run = run;
  }

  has(name: Name): boolean {
    return this.#handles.has(name);
  }

  arm(name: Name, ms: number, callback: () => void): void {
    this.disarm(name);
    const handle = this.#clock.setTimeout(() => {
      this.#handles.delete(name);
      try {
        this.#run(callback);
      } catch (error) {
        this.#log().error(`${name} timer failed: ${describeError(error)}`, error);
      }
    }, ms);
    this.#handles.set(name, handle);
  }

  disarm(name: Name): void {
    if (!this.#handles.has(name)) return;
    this.#clock.clearTimeout(this.#handles.get(name));
    this.#handles.delete(name);
  }

  clear(): void {
    for (const name of [...this.#handles.keys()]) this.disarm(name);
  }
}
