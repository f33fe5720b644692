import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../calls/call-scheduler.ts';
import type { Realtime } from '../../realtime/realtime.ts';
import type { SessionsStore } from './sessions-store.ts';

/**
 * SESSION_IDLE_MINUTES: every `touchMs`, deletes the sessions idle too long and ends their sockets
 * (`session.ended` with reason `expired`, then disconnect). The socket.io rooms reach every node
 * through the adapter, so the node whose delete found a session ends it everywhere. Returns a stop.
 */
export function startIdleSweep(sessions: SessionsStore, realtime: Realtime, clock: Clock, log: FastifyBaseLogger): () => void {
  if (sessions.idleMs <= 0) return () => undefined;
  let handle: unknown;
  let stopped = false;
  const sweep = async () => {
    try {
      const ids = await sessions.deleteIdle();
      for (const id of ids) realtime.endSession(id, 'expired');
      if (ids.length > 0) log.info({ sessions: ids.length }, 'idle sessions expired');
    } catch (err) {
      log.warn({ err }, 'idle session sweep failed');
    }
    if (!stopped) handle = clock.setTimeout(() => void sweep(), sessions.touchMs);
  };
  handle = clock.setTimeout(() => void sweep(), sessions.touchMs);
  return () => {
    stopped = true;
    clock.clearTimeout(handle);
  };
}
