import type { PeerConfiguration } from './webrtc.ts';

export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay';

/**
 * Why the media path did not come up, from what was gathered with the ICE servers the call had
 * (set on `connection_failed` ends):
 * - `no_turn`: no direct path, and no relay (TURN) server is configured;
 * - `turn_unreachable`: a relay is configured but no relay candidate was gathered (blocked,
 *   wrong address, or bad credentials);
 * - `no_pair`: this side reached the relay, yet no candidate pair worked.
 */
export interface ConnectionDiagnosis {
  code: 'no_turn' | 'turn_unreachable' | 'no_pair';
  local: CandidateType[];
  remote: CandidateType[];
}

/** `typ` of an ICE candidate line. */
export function candidateType(candidate: string): CandidateType | undefined {
  const m = / typ (host|srflx|prflx|relay)(?: |$)/.exec(candidate);
  return m ? (m[1] as CandidateType) : undefined;
}

/** Whether the configuration names a TURN (or TURNS) server. */
export function hasTurnServer(configuration: PeerConfiguration): boolean {
  const urls = (configuration.iceServers ?? []).flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls]));
  return urls.some((u) => /^turns?:/i.test(u));
}

/** The diagnosis from the ICE servers the peer connection really had and the candidate types seen. */
export function diagnose(
  configuration: PeerConfiguration,
  gathered: { local: ReadonlySet<CandidateType>; remote: ReadonlySet<CandidateType> },
): ConnectionDiagnosis {
  const code = !hasTurnServer(configuration) ? 'no_turn' : !gathered.local.has('relay') ? 'turn_unreachable' : 'no_pair';
  return { code, local: [...gathered.local], remote: [...gathered.remote] };
}
