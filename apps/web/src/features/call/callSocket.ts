import type { CallClientEventName, CallServerEventName } from '@parley/protocol';
import type { RealtimeSocket } from '../../lib/realtime.ts';

/**
 * The slice of the app's socket the call controller uses. Payloads are `unknown` both ways: what
 * arrives is validated with CALL_SERVER_SCHEMAS, what leaves was built by the engine.
 */
export interface CallSocket {
  on(event: CallServerEventName, listener: (payload: unknown) => void): void;
  off(event: CallServerEventName, listener: (payload: unknown) => void): void;
  emit(event: CallClientEventName, payload: unknown, ack: (res: unknown) => void): void;
  /** Whether the socket is connected right now. */
  readonly connected: boolean;
  /** Every (re)connect of the socket; returns the unsubscribe. */
  onConnect(listener: () => void): () => void;
}

/** The app's socket seen as a CallSocket (socket.io's typed `on`/`emit` are generic per event name). */
export function callSocketOf(socket: RealtimeSocket): CallSocket {
  const untyped = socket as unknown as {
    on(event: string, listener: (payload: unknown) => void): unknown;
    off(event: string, listener: (payload: unknown) => void): unknown;
    emit(event: string, payload: unknown, ack: (res: unknown) => void): unknown;
  };
  return {
    get connected() {
      return socket.connected;
    },
    on: (event, listener) => void untyped.on(event, listener),
    off: (event, listener) => void untyped.off(event, listener),
    emit: (event, payload, ack) => void untyped.emit(event, payload, ack),
    onConnect: (listener) => {
      socket.on('connect', listener);
      return () => void socket.off('connect', listener);
    },
  };
}
