/**
 * The service worker's pushes of one call, handled one at a time in the order they arrived.
 *
 * Each push is its own event, and handling one awaits the network (a ringing push asks the server
 * whether the call still rings) and the notification store; handled side by side, a ringing push
 * whose check was slow would show "is calling" after the call's close push had shown "Missed
 * call". Here each of a call's pushes waits for the one before it, and a close is known to the
 * pushes before it as soon as it arrives, not when its turn comes.
 *
 * Bounded, and short-lived on purpose: a call's entry goes when its last push has been handled,
 * and the browser may stop the worker between pushes anyway. What the worker shows is decided by
 * the server's answer and the push's `expiresAt`; this only orders the pushes in flight.
 */

/** What a queued push may ask about its call while its turn runs. */
export interface CallTurn {
  /** A close push for this call has arrived (handled or not): the call is over, whatever a ringing check says. */
  readonly closed: boolean;
  /** Aborted when a close push for this call arrives: a ringing check still in flight is moot then. */
  readonly signal: AbortSignal;
}

interface Entry {
  /** Settles when the newest push queued for the call has been handled; never rejects. */
  tail: Promise<void>;
  closed: boolean;
  readonly abort: AbortController;
}

const ignore = () => undefined;

export class CallPushQueue {
  private readonly calls = new Map<string, Entry>();

  /** How many calls have pushes queued or being handled. */
  get size(): number {
    return this.calls.size;
  }

  /** Settles once no push of `callId` is queued or being handled (at once when none is). */
  async idle(callId: string): Promise<void> {
    for (let e = this.calls.get(callId); e; e = this.calls.get(callId)) await e.tail;
  }

  /**
   * Runs `handle` once every push queued before it for `callId` has been handled, and settles as it
   * does. `closes`: this push ends the call, which the pushes queued before it learn at once.
   * A push that fails does not stop the ones after it.
   */
  add(callId: string, closes: boolean, handle: (turn: CallTurn) => Promise<void>): Promise<void> {
    let entry = this.calls.get(callId);
    if (!entry) {
      entry = { tail: Promise.resolve(), closed: false, abort: new AbortController() };
      this.calls.set(callId, entry);
    }
    const e = entry;
    if (closes && !e.closed) {
      e.closed = true;
      e.abort.abort();
    }
    const turn: CallTurn = {
      get closed() {
        return e.closed;
      },
      signal: e.abort.signal,
    };
    const mine = e.tail.then(() => handle(turn));
    const tail = mine.then(ignore, ignore);
    e.tail = tail;
    void tail.then(() => {
      // The last push of the call: nothing to order against any more.
      if (e.tail === tail && this.calls.get(callId) === e) this.calls.delete(callId);
    });
    return mine;
  }
}
