import type { ApiError, Message, SendMessage } from '@parley/protocol';
import { randomId } from '../../lib/ids.ts';

/**
 * Messages written here and not yet confirmed stored by the server.
 *
 * The id of a message is chosen once, when it is written, and every attempt re-sends that same
 * id: the server stores a message once per id, so a retry after a lost acknowledgement can never
 * post it twice. An entry leaves the outbox when the server acknowledges it or when the message
 * turns up some other way (a sync after reconnecting, an echo).
 */

export type OutboxStatus = 'sending' | 'failed';

export interface OutboxEntry {
  readonly id: string;
  readonly conversationId: string;
  readonly body: string;
  /** Local time of writing; places the message until the server's time is known. */
  readonly createdAt: string;
  readonly status: OutboxStatus;
  /** Why it failed, written for people; null while sending. */
  readonly error: string | null;
}

/** What became of one attempt. */
export type SendOutcome =
  /** The server stored it (now or on an earlier attempt with the same id). */
  | { kind: 'stored'; message: Message }
  /** The server answered no; sending the same again will not help by itself. */
  | { kind: 'rejected'; error: ApiError['error'] }
  /** No answer: the ack timed out or the connection dropped. It may or may not be stored. */
  | { kind: 'lost'; reason: 'timeout' | 'disconnected' };

export type Transport = (payload: SendMessage) => Promise<SendOutcome>;

export interface OutboxOptions {
  transport: Transport;
  /** Called after every change with the new entries (a fresh array each time). */
  onChange: (entries: readonly OutboxEntry[]) => void;
  /** Called with each message the server acknowledged. */
  onStored: (message: Message) => void;
  newId?: () => string;
  now?: () => Date;
  /** Attempts that time out while connected before the entry is marked failed. */
  maxTimeouts?: number;
}

export const TIMEOUT_ERROR = 'The server did not answer. Try again.';

export class Outbox {
  #entries: readonly OutboxEntry[] = [];
  readonly #inFlight = new Set<string>();
  readonly #timeouts = new Map<string, number>();
  #connected = false;
  readonly #options: Required<OutboxOptions>;

  constructor(options: OutboxOptions) {
    this.#options = {
      // Not crypto.randomUUID: it is missing on plain http (a LAN server), where chat must still work.
      newId: randomId,
      now: () => new Date(),
      maxTimeouts: 3,
      ...options,
    };
  }

  get entries(): readonly OutboxEntry[] {
    return this.#entries;
  }

  /** Writes a message: it shows as sending at once and goes out now or on the next connect. */
  enqueue(conversationId: string, body: string): OutboxEntry {
    const entry: OutboxEntry = {
      id: this.#options.newId(),
      conversationId,
      body,
      createdAt: this.#options.now().toISOString(),
      status: 'sending',
      error: null,
    };
    this.#set([...this.#entries, entry]);
    this.#attempt(entry.id);
    return entry;
  }

  /** Follows the socket. On connect, every entry still sending goes out again with its own id. */
  setConnected(connected: boolean): void {
    this.#connected = connected;
    if (connected) this.flush();
  }

  flush(): void {
    for (const entry of this.#entries) if (entry.status === 'sending') this.#attempt(entry.id);
  }

  /** Sends a failed entry again, same id. */
  retry(id: string): void {
    const entry = this.#find(id);
    if (!entry || entry.status !== 'failed') return;
    this.#timeouts.delete(id);
    this.#update(id, { status: 'sending', error: null });
    this.#attempt(id);
  }

  /** Gives up on a failed entry. */
  discard(id: string): void {
    if (!this.#find(id)) return;
    this.#forget(id);
  }

  /** A stored message with this id arrived another way (sync, echo): the entry is done. */
  settle(messageId: string): void {
    if (this.#find(messageId)) this.#forget(messageId);
  }

  #attempt(id: string): void {
    const entry = this.#find(id);
    if (!entry || entry.status !== 'sending' || !this.#connected || this.#inFlight.has(id)) return;
    this.#inFlight.add(id);
    const payload: SendMessage = { id: entry.id, conversationId: entry.conversationId, body: entry.body };
    this.#options
      .transport(payload)
      .catch((): SendOutcome => ({ kind: 'lost', reason: 'timeout' }))
      .then((outcome) => {
        this.#inFlight.delete(id);
        this.#settleAttempt(id, outcome);
      });
  }

  #settleAttempt(id: string, outcome: SendOutcome): void {
    switch (outcome.kind) {
      case 'stored':
        // The message joins the conversation before it leaves the outbox, so it never blinks out.
        this.#options.onStored(outcome.message);
        if (this.#find(id)) this.#forget(id);
        return;
      case 'rejected':
        if (this.#find(id)) this.#update(id, { status: 'failed', error: outcome.error.message });
        return;
      case 'lost': {
        if (!this.#find(id)) return;
        // Disconnected: stays "sending" and goes out again from setConnected(true).
        if (outcome.reason === 'disconnected' || !this.#connected) return;
        const timeouts = (this.#timeouts.get(id) ?? 0) + 1;
        this.#timeouts.set(id, timeouts);
        if (timeouts >= this.#options.maxTimeouts) this.#update(id, { status: 'failed', error: TIMEOUT_ERROR });
        else this.#attempt(id);
        return;
      }
    }
  }

  #find(id: string): OutboxEntry | undefined {
    return this.#entries.find((entry) => entry.id === id);
  }

  #update(id: string, patch: Pick<OutboxEntry, 'status' | 'error'>): void {
    this.#set(this.#entries.map((entry) => (entry.id === id ? { ...entry, ...patch } : entry)));
  }

  #forget(id: string): void {
    this.#timeouts.delete(id);
    this.#set(this.#entries.filter((entry) => entry.id !== id));
  }

  #set(entries: readonly OutboxEntry[]): void {
    this.#entries = entries;
    this.#options.onChange(entries);
  }
}
