import { LIMITS, PresenceSubscription } from '@parley/protocol';
import { AppError } from '../lib/errors.ts';
import { PRESENCE_ROOM_PREFIX, presenceRoom, type Realtime } from './realtime.ts';

/**
 * `presence.subscribe` / `presence.unsubscribe`: a socket follows the people it shows (conversation
 * partners, people-search results). Anyone signed in may look anyone up, so anyone may follow
 * anyone; the cap only bounds what one socket costs. Connecting then costs a frame per follower,
 * not one per connected socket.
 */
export function registerPresenceSocket(realtime: Realtime): void {
  realtime.on('presence.subscribe', PresenceSubscription, async (socket, { userIds }) => {
    const fresh = userIds.filter((id) => !socket.rooms.has(presenceRoom(id)));
    let following = 0;
    for (const room of socket.rooms) if (room.startsWith(PRESENCE_ROOM_PREFIX)) following++;
    if (following + fresh.length > LIMITS.presenceSubscriptionsMax) {
      throw new AppError('bad_request', `A socket may follow at most ${LIMITS.presenceSubscriptionsMax} people's presence; unsubscribe some first`);
    }
    // Join before reading, so a change between the two is not missed (at worst it is heard twice).
    await socket.join(fresh.map(presenceRoom));
    const online = await realtime.presence.online(userIds);
    return { online: Object.fromEntries(userIds.map((id) => [id, online.has(id)])) };
  });

  realtime.on('presence.unsubscribe', PresenceSubscription, async (socket, { userIds }) => {
    for (const id of userIds) await socket.leave(presenceRoom(id));
    return {};
  });
}
