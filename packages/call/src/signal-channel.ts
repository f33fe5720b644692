import { ApiError, type CallClientEventName, type CallServerEventName, type ErrorCode } from '@parley/protocol';
import type { PeerConfiguration } from './webrtc.ts';

/**
 * How the agent reaches the server: socket.io's client in the browser and in Node, a test double
 * elsewhere. Payloads are `unknown` both ways: what arrives is validated by the agent with
 * CALL_SERVER_SCHEMAS, what leaves was built by the engine. DOM-free on purpose.
 */
export interface SignalChannel {
  /** Whether the connection to the server is up right now. */
  readonly connected: boolean;
  /** Sends one client event; `ack` gets the server's answer (`{ ok: true, … }` or an ApiError). */
  emit(type: CallClientEventName, payload: unknown, ack: (res: unknown) => void): void;
  /** Listens for one server event; returns the unsubscribe. */
  on(type: CallServerEventName, listener: (payload: unknown) => void): () => void;
  /** Every (re)connect to the server; returns the unsubscribe. */
  onConnect(listener: () => void): () => void;
}

/** Fetches the ICE servers (STUN, TURN with fresh credentials) for a call or an ICE restart. */
export type IceServerProvider = () => Promise<PeerConfiguration>;

/** A socket ack read: `{ ok: true, …data }` or an error code; anything unreadable counts as `internal`. */
export type AckResult = { ok: true; data: Record<string, unknown> } | { ok: false; code: ErrorCode };

export function readAck(res: unknown): AckResult {
  if (typeof res === 'object' && res !== null && (res as { ok?: unknown }).ok === true) {
    return { ok: true, data: res as Record<string, unknown> };
  }
  const error = ApiError.safeParse(res);
  return { ok: false, code: error.success ? error.data.error.code : 'internal' };
}
