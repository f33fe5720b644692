// The one state of a peer connection's media path that the call lifecycle reads: ICE and DTLS folded together.

/** ICE and DTLS folded into one state, as the call lifecycle needs it. */
export type LinkState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

/** Folds iceConnectionState and connectionState (ICE + DTLS) into the one state the call needs. */
export function foldLinkState(ice: string, connection: string): LinkState {
  if (ice === 'closed' || connection === 'closed') return 'closed';
  if (ice === 'failed' || connection === 'failed') return 'failed';
  if (ice === 'disconnected' || connection === 'disconnected') return 'disconnected';
  if (connection === 'connected') return 'connected';
  if (ice === 'new' && (connection === 'new' || connection === '')) return 'new';
  return 'connecting';
}
