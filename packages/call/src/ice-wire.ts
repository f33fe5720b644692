// ICE candidates and SDP as they cross the signalling channel.
import type { IceCandidateInit, IceCandidateLike } from './webrtc.ts';

/** Copies the four fields of RTCIceCandidateInit; the protocol rejects anything else. */
export function toCandidateInit(candidate: IceCandidateLike): IceCandidateInit {
  const init: IceCandidateInit = { candidate: candidate.candidate };
  if (candidate.sdpMid !== undefined) init.sdpMid = candidate.sdpMid;
  if (candidate.sdpMLineIndex !== undefined) init.sdpMLineIndex = candidate.sdpMLineIndex;
  if (candidate.usernameFragment !== undefined) init.usernameFragment = candidate.usernameFragment;
  return init;
}

/** The ICE username fragments an SDP names (one per ICE generation). */
export function ufragsOf(sdp: string): Set<string> {
  return new Set(Array.from(sdp.matchAll(/^a=ice-ufrag:(\S+)/gm), (m) => m[1] ?? ''));
}
