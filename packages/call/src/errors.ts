export const CALL_ERROR_REASONS = [
  /** transition() was asked for a move the TRANSITIONS table does not allow: a bug in the engine. */
  'invalid_transition',
  /** A public method was called in a state that does not allow it, e.g. accept() on an outgoing call. */
  'invalid_state',
  /** The peer connection was used after it was closed. */
  'closed',
  /** An offer or answer could not be created or applied. */
  'negotiation_failed',
  /** The injected factory could not create a peer connection. */
  'peer_connection_failed',
] as const;
export type CallErrorReason = (typeof CALL_ERROR_REASONS)[number];

export class CallError extends Error {
  override readonly name = 'CallError';
  readonly reason: CallErrorReason;

  constructor(reason: CallErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

export function isCallError(error: unknown, reason?: CallErrorReason): error is CallError {
  return error instanceof CallError && (reason === undefined || error.reason === reason);
}

/** A short, loggable description of anything thrown (DOMException included). */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
