/** Maps an event name to its listener signature. */
export type EventMap<Events> = { [K in keyof Events]: (...args: never[]) => void };

/**
 * A small typed emitter. `safeEmit` calls every listener and catches what one throws, so a bug in
 * the UI or in a transport can never break the engine in the middle of a transition
 * (mediasoup's enhancedEvents.ts does the same).
 */
export class TypedEmitter<Events extends EventMap<Events>> {
  readonly #listeners = new Map<keyof Events, Set<Events[keyof Events]>>();

  /** Where a throwing listener is reported. Subclasses route it to their logger. */
  protected onListenerError(event: string, error: unknown): void {
    console.error(`listener for "${event}" threw`, error);
  }

  /** Returns a function that removes the listener. */
  on<K extends keyof Events>(event: K, listener: Events[K]): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  once<K extends keyof Events>(event: K, listener: Events[K]): () => void {
    const wrapper = ((...args: Parameters<Events[K]>) => {
      off();
      (listener as (...a: Parameters<Events[K]>) => void)(...args);
    }) as Events[K];
    const off = this.on(event, wrapper);
    return off;
  }

  off<K extends keyof Events>(event: K, listener: Events[K]): void {
    this.#listeners.get(event)?.delete(listener);
  }

  removeAllListeners(): void {
    this.#listeners.clear();
  }

  listenerCount(event: keyof Events): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  protected safeEmit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): void {
    const set = this.#listeners.get(event);
    if (!set || set.size === 0) return;
    // A copy: listeners may subscribe or unsubscribe while we iterate.
    for (const listener of [...set]) {
      try {
        (listener as (...a: Parameters<Events[K]>) => void)(...args);
      } catch (error) {
        try {
          this.onListenerError(String(event), error);
        } catch {
          // The error reporter itself failed; there is nobody left to tell.
        }
      }
    }
  }
}
