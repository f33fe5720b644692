import { parseIceUrl, TURN_URL_TEXT, type FoundKinds, type RelayProtocol, type TurnUrlResult } from './candidates.ts';
import type { RelayRtt } from './report.ts';

/* The results in words, for the page. Pure (presentation.test.ts). */

export type RowState = 'found' | 'missing' | 'not_configured';

export interface KindRow {
  label: string;
  state: RowState;
}

/**
 * One row per kind of address a call can use. A relay transport with no TURN URL for it is
 * "not configured" rather than missing: nothing failed.
 */
export function kindRows(found: FoundKinds, urls: readonly string[]): KindRow[] {
  const turn = urls.map(parseIceUrl).filter((u) => u !== null && (u.scheme === 'turn' || u.scheme === 'turns'));
  const canReflect = urls.some((u) => /^(stuns?|turns?):/i.test(u));
  const configured = (t: RelayProtocol) => turn.some((u) => u!.transport === t);
  const relay = (t: RelayProtocol, yes: boolean): RowState => (yes || found.relayOther ? 'found' : configured(t) ? 'missing' : 'not_configured');
  return [
    { label: 'Local network address (host)', state: found.host ? 'found' : 'missing' },
    { label: 'Public address (srflx, via STUN)', state: found.srflx ? 'found' : canReflect ? 'missing' : 'not_configured' },
    { label: 'Relay over UDP', state: relay('udp', found.relayUdp) },
    { label: 'Relay over TCP', state: relay('tcp', found.relayTcp) },
    { label: 'Relay over TLS', state: relay('tls', found.relayTls) },
  ];
}

export const ROW_STATE_TEXT: Record<RowState, string> = { found: 'found', missing: 'not found', not_configured: 'not configured' };

/** "turn:relay.clinic.example:3478?transport=tcp — the relay rejected the credentials". */
export function turnUrlLine(result: TurnUrlResult): string {
  return `${result.url} — ${TURN_URL_TEXT[result.status]}${result.errorText && result.status !== 'ok' ? ` (${result.errorText})` : ''}`;
}

/** The round trip to the relay, saying how it was obtained. */
export function relayRttText(rtt: RelayRtt): string {
  switch (rtt.method) {
    case 'relay-pair':
      return `${rtt.rttMs} ms (measured through the relay${rtt.relayProtocol ? ` over ${rtt.relayProtocol.toUpperCase()}` : ''})`;
    case 'estimate':
      return `at most about ${rtt.rttMs} ms (estimate: could not measure through the relay, so this is half the time it took to get a relay address)`;
    case 'none':
      return rtt.note;
  }
}
