import type { Clock, Logger } from '../webrtc.ts';

/** A clock that moves only when the test says so. */
export class ManualClock implements Clock {
  /** Starts at a realistic epoch time: the engine sends clock readings to the server (call.resume). */
  #now = 1_800_000_000_000;
  #nextHandle = 1;
  readonly #timers = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const handle = this.#nextHandle++;
    this.#timers.set(handle, { at: this.#now + ms, callback });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward, running due timers in order (timers they arm run too, if due). */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let next: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= target && (!next || entry[1].at < next[1].at)) next = entry;
      }
      if (!next) break;
      this.#timers.delete(next[0]);
      this.#now = next[1].at;
      next[1].callback();
    }
    this.#now = target;
  }
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
}

/** A logger that keeps every line for assertions. */
export class RecordingLogger implements Logger {
  readonly lines: LogLine[] = [];
  debug(message: string): void {
    this.lines.push({ level: 'debug', message });
  }
  info(message: string): void {
    this.lines.push({ level: 'info', message });
  }
  warn(message: string): void {
    this.lines.push({ level: 'warn', message });
  }
  error(message: string): void {
    this.lines.push({ level: 'error', message });
  }
  messages(level?: LogLine['level']): string[] {
    return this.lines.filter((l) => level === undefined || l.level === level).map((l) => l.message);
  }
  /** True when some line contains `text`. */
  has(text: string): boolean {
    return this.lines.some((l) => l.message.includes(text));
  }
}
