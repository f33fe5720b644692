import type { SignalChannel } from '@parley/call';
import type { RealtimeSocket } from '../../lib/realtime.ts';

/** The app's socket as the call agent's signal channel (socket.io's typed `on`/`emit` are generic per event name). */
export function callSocketOf(socket: RealtimeSocket): SignalChannel {
  const untyped = socket as unknown as {
    on(event: string, listener: (payload: unknown) => void): unknown;
    off(event: string, listener: (payload: unknown) => void): unknown;
    emit(event: string, payload: unknown, ack: (res: unknown) => void): unknown;
  };
  return {
    get connected() {
      return socket.connected;
    },
    emit: (type, payload, ack) => void untyped.emit(type, payload, ack),
    on: (type, listener) => {
      untyped.on(type, listener);
      return () => void untyped.off(type, listener);
    },
    onConnect: (listener) => {
      socket.on('connect', listener);
      return () => void socket.off('connect', listener);
    },
  };
}
