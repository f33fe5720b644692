import { describe, expect, it } from 'vitest';
import { CallPushQueue, type CallTurn } from './callPushQueue.ts';

/** A promise and the function that resolves it. */
function settable(): { promise: Promise<void>; set: () => void } {
  let set!: () => void;
  const promise = new Promise<void>((resolve) => (set = resolve));
  return { promise, set };
}

/** Lets every promise callback that can run, run. */
const drain = () => new Promise<void>((r) => setImmediate(r));

describe("the service worker's pushes of one call", () => {
  it('are handled in the order they arrived, a slow one holding back the next', async () => {
    const q = new CallPushQueue();
    const log: string[] = [];
    const check = settable();
    const ring = q.add('c1', false, async () => {
      log.push('ring: asks');
      await check.promise;
      log.push('ring: shows');
    });
    const close = q.add('c1', true, async () => {
      log.push('close: shows');
    });
    await drain();
    expect(log).toEqual(['ring: asks']);
    check.set();
    await Promise.all([ring, close]);
    expect(log).toEqual(['ring: asks', 'ring: shows', 'close: shows']);
  });

  it('tell an earlier push of a close as soon as the close arrives, and abort its signal', async () => {
    const q = new CallPushQueue();
    const check = settable();
    let seen: CallTurn | undefined;
    const seenAfterCheck: boolean[] = [];
    const ring = q.add('c1', false, async (turn) => {
      seen = turn;
      await check.promise;
      seenAfterCheck.push(turn.closed);
    });
    await drain();
    expect([seen?.closed, seen?.signal.aborted]).toEqual([false, false]);
    let closeRan = false;
    const close = q.add('c1', true, async (turn) => {
      closeRan = true;
      expect(turn.closed).toBe(true);
    });
    // Before the close's turn: the ringing push already knows.
    expect([seen?.closed, seen?.signal.aborted, closeRan]).toEqual([true, true, false]);
    check.set();
    await Promise.all([ring, close]);
    expect([seenAfterCheck, closeRan]).toEqual([[true], true]);
  });

  it('do not wait for the pushes of another call', async () => {
    const q = new CallPushQueue();
    const held = settable();
    const first = q.add('c1', false, () => held.promise);
    let other = false;
    await q.add('c2', true, async (turn) => {
      other = true;
      expect(turn.closed).toBe(true);
    });
    expect(other).toBe(true);
    await drain();
    expect(q.size).toBe(1);
    held.set();
    await first;
  });

  it('go on after one fails, which rejects its own promise only', async () => {
    const q = new CallPushQueue();
    const failing = q.add('c1', false, async () => {
      throw new Error('no notification');
    });
    const next = q.add('c1', true, async () => undefined);
    await expect(failing).rejects.toThrow('no notification');
    await expect(next).resolves.toBeUndefined();
  });

  it('can be waited for until none is left, including those queued meanwhile', async () => {
    const q = new CallPushQueue();
    await q.idle('c1');
    const log: string[] = [];
    const [first, second] = [settable(), settable()];
    void q.add('c1', false, async () => {
      await first.promise;
      log.push('first');
    });
    const idle = q.idle('c1').then(() => log.push('idle'));
    await drain();
    void q.add('c1', true, async () => {
      await second.promise;
      log.push('second');
    });
    first.set();
    await drain();
    expect(log).toEqual(['first']);
    second.set();
    await idle;
    expect([log, q.size]).toEqual([['first', 'second', 'idle'], 0]);
  });

  it('leave nothing behind once handled: a push after that starts afresh (the server decides)', async () => {
    const q = new CallPushQueue();
    await q.add('c1', true, async () => undefined);
    await drain();
    expect(q.size).toBe(0);
    let late: boolean | undefined;
    await q.add('c1', false, async (turn) => {
      late = turn.closed;
    });
    await drain();
    expect([late, q.size]).toEqual([false, 0]);
  });
});
