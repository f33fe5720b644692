import { describe, expect, it, vi } from 'vitest';
import { TypedEmitter } from './emitter.ts';

interface Events {
  ping: (n: number, label: string) => void;
  done: () => void;
}

class Thing extends TypedEmitter<Events> {
  readonly errors: { event: string; error: unknown }[] = [];
  protected override onListenerError(event: string, error: unknown): void {
    this.errors.push({ event, error });
  }
  ping(n: number): void {
    this.safeEmit('ping', n, `#${n}`);
  }
  done(): void {
    this.safeEmit('done');
  }
}

describe('TypedEmitter', () => {
  it('calls listeners with the arguments, and stops after off()', () => {
    const thing = new Thing();
    const seen: string[] = [];
    const off = thing.on('ping', (n, label) => seen.push(`${n}${label}`));
    thing.ping(1);
    off();
    thing.ping(2);
    expect(seen).toEqual(['1#1']);
    expect(thing.listenerCount('ping')).toBe(0);
  });

  it('once() fires a single time', () => {
    const thing = new Thing();
    const listener = vi.fn();
    thing.once('done', listener);
    thing.done();
    thing.done();
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('a listener that throws does not stop the others or the emitter', () => {
    const thing = new Thing();
    const after = vi.fn();
    thing.on('ping', () => {
      throw new Error('boom');
    });
    thing.on('ping', after);
    expect(() => thing.ping(1)).not.toThrow();
    thing.ping(2);
    expect(after).toHaveBeenCalledTimes(2);
    expect(thing.errors).toHaveLength(2);
    expect(thing.errors[0]?.event).toBe('ping');
    expect((thing.errors[0]?.error as Error).message).toBe('boom');
  });

  it('a listener may unsubscribe another during emit', () => {
    const thing = new Thing();
    const second = vi.fn();
    let offSecond = (): void => undefined;
    thing.on('done', () => offSecond());
    offSecond = thing.on('done', second);
    thing.done();
    thing.done();
    expect(second).toHaveBeenCalledTimes(1);
  });
});
