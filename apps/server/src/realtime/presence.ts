/**
 * Who is online, across every node. Each node counts its own sockets per person; the store adds
 * them up for everyone, so a person is online while any node has a socket of theirs. A transition
 * (first socket anywhere, last socket anywhere) is what the node tells that person's followers.
 */
export interface PresenceStore {
  /** One more socket of `userId` on this node; true when the person was offline everywhere before. */
  add(userId: string): Promise<boolean>;
  /** One socket fewer; true when the person is now offline everywhere. */
  remove(userId: string): Promise<boolean>;
  /** Which of these people are online on any node. */
  online(userIds: string[]): Promise<Set<string>>;
  /**
   * People who went offline because another node died (its counts expired), for this node to tell
   * their followers. The memory store has no other nodes.
   */
  onOffline(listener: (userIds: string[]) => void): void;
  close(): Promise<void>;
}

/** One node: the counts are the truth. */
export class MemoryPresenceStore implements PresenceStore {
  private readonly counts = new Map<string, number>();

  async add(userId: string) {
    const n = (this.counts.get(userId) ?? 0) + 1;
    this.counts.set(userId, n);
    return n === 1;
  }

  async remove(userId: string) {
    const n = (this.counts.get(userId) ?? 1) - 1;
    if (n > 0) {
      this.counts.set(userId, n);
      return false;
    }
    this.counts.delete(userId);
    return true;
  }

  async online(userIds: string[]) {
    return new Set(userIds.filter((id) => this.counts.has(id)));
  }

  onOffline(): void {}

  async close() {
    this.counts.clear();
  }
}
