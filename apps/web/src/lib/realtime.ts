import type { ClientToServerEvents, ServerToClientEvents } from '@parley/protocol';
import { io, type Socket } from 'socket.io-client';
import { randomId } from './ids.ts';

/** The one socket.io connection of the signed-in app; the chat and call features both use it. */
export type RealtimeSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * This page load's device id. Kept in memory only, never in storage: a reload is a new device, so
 * the server ends a call the old page was in once its grace period runs out, instead of waiting for
 * a device that will never come back. Stable across socket reconnects within the page.
 */
export const DEVICE_ID: string = randomId();

/** Creates the connection, not yet connected (see useRealtimeSocket). */
export function createRealtimeSocket(deviceId: string = DEVICE_ID): RealtimeSocket {
  return io({
    withCredentials: true,
    autoConnect: false,
    // WebSocket only: browsers send no Origin header on same-origin polling GETs, which the
    // server's origin check (rightly) refuses for sockets; a WebSocket handshake always carries it.
    transports: ['websocket'],
    // The server binds the socket to this device and refuses call payloads naming another one.
    auth: { deviceId },
  });
}
