/** One device of a person (the client instance of a socket, `SocketData.deviceId`). */
export interface PresentDevice {
  userId: string;
  deviceId: string;
}

/**
 * Who is online, across every node. Each node counts its own sockets per person and per device;
 * the store adds them up for everyone, so a person (a device) is online while any node has a socket
 * of theirs. A transition (first socket anywhere, last socket anywhere) is what the node tells that
 * person's followers. The devices are what a call rings and what its reconnect grace waits for.
 */
export interface PresenceStore {
  /** One more socket of this device on this node; true when the person was offline everywhere before. */
  add(userId: string, deviceId: string): Promise<boolean>;
  /** One socket fewer; true when the person is now offline everywhere. */
  remove(userId: string, deviceId: string): Promise<boolean>;
  /** Which of these people are online on any node. */
  online(userIds: string[]): Promise<Set<string>>;
  /** The person's devices with a socket on any node. */
  devices(userId: string): Promise<Set<string>>;
  /**
   * People who went offline, and devices that lost their last socket, because another node died
   * (its counts expired), for this node to act on. The memory store has no other nodes.
   */
  onOffline(listener: (userIds: string[], devices: PresentDevice[]) => void): void;
  close(): Promise<void>;
}

/** One node: the counts are the truth. */
export class MemoryPresenceStore implements PresenceStore {
  private readonly counts = new Map<string, number>();
  private readonly deviceCounts = new Map<string, Map<string, number>>();

  async add(userId: string, deviceId: string) {
    const devices = this.deviceCounts.get(userId) ?? new Map<string, number>();
    devices.set(deviceId, (devices.get(deviceId) ?? 0) + 1);
    this.deviceCounts.set(userId, devices);
    const n = (this.counts.get(userId) ?? 0) + 1;
    this.counts.set(userId, n);
    return n === 1;
  }

  async remove(userId: string, deviceId: string) {
    const devices = this.deviceCounts.get(userId);
    const d = (devices?.get(deviceId) ?? 1) - 1;
    if (d > 0) devices!.set(deviceId, d);
    else devices?.delete(deviceId);
    if (devices?.size === 0) this.deviceCounts.delete(userId);
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

  async devices(userId: string) {
    return new Set(this.deviceCounts.get(userId)?.keys());
  }

  onOffline(): void {}

  async close() {
    this.counts.clear();
    this.deviceCounts.clear();
  }
}
