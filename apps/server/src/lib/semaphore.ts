import { AppError } from './errors.ts';

/**
 * At most `concurrency` tasks at once; up to `queueMax` more wait in order; beyond that the task is
 * refused with `rate_limited` at once. Keeps a burst of expensive work (scrypt) from queueing every
 * other person's request behind it.
 */
export class Semaphore {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly concurrency: number,
    private readonly queueMax: number,
  ) {}

  get pending(): number {
    return this.running + this.waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.queueMax) throw new AppError('rate_limited', 'The server is busy signing people in. Try again in a second.', undefined, 1);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter (running stays the same), or free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
