import { LIMITS, PresenceSnapshot } from '@parley/protocol';

/** Sends a `presence.subscribe` / `presence.unsubscribe`; resolves with the acknowledgement. */
export type PresenceEmit = (event: 'presence.subscribe' | 'presence.unsubscribe', userIds: string[]) => Promise<unknown>;

/**
 * The people whose presence this device shows, kept subscribed on the server: the server only
 * sends `presence` to the sockets that follow a person. Several parts of the chat want people
 * (the conversation list, the people search), each as a named group; the server gets the union,
 * at most LIMITS.presenceSubscriptionsMax of them, groups in the order first set. A reconnected
 * socket has no subscriptions, so `connected()` subscribes everything again.
 */
export class PresenceWatch {
  readonly #wanted = new Map<string, readonly string[]>();
  readonly #subscribed = new Set<string>();
  #connected = false;

  constructor(
    private readonly emit: PresenceEmit,
    private readonly onSnapshot: (online: Record<string, boolean>) => void,
  ) {}

  set(group: string, userIds: readonly string[]): void {
    this.#wanted.set(group, userIds);
    this.#flush();
  }

  connected(): void {
    this.#connected = true;
    this.#subscribed.clear();
    this.#flush();
  }

  disconnected(): void {
    this.#connected = false;
    this.#subscribed.clear();
  }

  #flush(): void {
    if (!this.#connected) return;
    const all = new Set<string>();
    for (const ids of this.#wanted.values()) for (const id of ids) if (all.size < LIMITS.presenceSubscriptionsMax) all.add(id);
    const drop = [...this.#subscribed].filter((id) => !all.has(id));
    const add = [...all].filter((id) => !this.#subscribed.has(id));
    for (const chunk of chunks(drop)) {
      for (const id of chunk) this.#subscribed.delete(id);
      this.emit('presence.unsubscribe', chunk).catch(() => undefined);
    }
    for (const chunk of chunks(add)) {
      for (const id of chunk) this.#subscribed.add(id);
      this.emit('presence.subscribe', chunk).then(
        (res) => {
          const parsed = PresenceSnapshot.safeParse(res);
          if (parsed.success) this.onSnapshot(parsed.data.online);
          else for (const id of chunk) this.#subscribed.delete(id);
        },
        () => {
          // Lost with the connection: connected() subscribes again.
          for (const id of chunk) this.#subscribed.delete(id);
        },
      );
    }
  }
}

function chunks(ids: string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < ids.length; i += LIMITS.presenceBatchMax) out.push(ids.slice(i, i + LIMITS.presenceBatchMax));
  return out;
}
