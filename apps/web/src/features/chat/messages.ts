import type { Message } from '@parley/protocol';

/**
 * Folds newly received messages (a page, a sync answer, a live event, a send ack) into the ones
 * held for a conversation: one entry per id, ordered by the server's seq. The same message often
 * arrives twice (the ack and the echo, a sync overlapping a page), so this is the one dedupe point.
 * Returns `held` itself when nothing is new, so React can skip the render.
 */
export function mergeMessages(held: readonly Message[], incoming: readonly Message[]): readonly Message[] {
  const known = new Set(held.map((m) => m.id));
  const fresh: Message[] = [];
  for (const message of incoming) {
    if (known.has(message.id)) continue;
    known.add(message.id);
    fresh.push(message);
  }
  if (fresh.length === 0) return held;
  const merged = [...held, ...fresh];
  // Stable sort; already ordered input (the common case: appending one message) stays cheap.
  return merged.sort((a, b) => a.seq - b.seq);
}

/** Highest seq held, 0 when none. */
export function highestSeq(messages: readonly Message[]): number {
  return messages.reduce((max, m) => Math.max(max, m.seq), 0);
}

/** Lowest seq held, or null when none: the `before` cursor for "Load earlier messages". */
export function lowestSeq(messages: readonly Message[]): number | null {
  return messages.length === 0 ? null : messages.reduce((min, m) => Math.min(min, m.seq), Infinity);
}

/**
 * The seq after which the first hole in what is held begins (a dropped event, a late reconnect),
 * or null when the seqs run on without a gap. Only meaningful for a thread loaded up to the
 * newest page; holes before the lowest seq are just "earlier messages".
 */
export function firstHole(messages: readonly Message[]): number | null {
  for (let i = 1; i < messages.length; i++) {
    const previous = messages[i - 1];
    const current = messages[i];
    if (previous && current && current.seq > previous.seq + 1) return previous.seq;
  }
  return null;
}
