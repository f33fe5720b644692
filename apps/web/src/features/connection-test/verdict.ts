import { hasRelay, type FoundKinds, type TurnAuth } from './candidates.ts';

/*
 * The connection test's conclusion in plain words: can calls work from here, and with whom.
 * Pure: tested on canned findings (verdict.test.ts).
 */

export type Level = 'good' | 'warning' | 'bad';

export interface Finding {
  level: Level;
  text: string;
  /** Detail to a finding before it (why, what to do): shown, but it does not set the verdict. */
  note?: true;
}

export interface Verdict {
  level: Level;
  /** The worst finding's words: what the person reads first. */
  headline: string;
  findings: Finding[];
}

/** A device that works, or what went wrong with it in plain words (lib/mediaErrors.ts). */
export type DeviceCheck = { ok: true; label: string } | { ok: false; message: string };

export interface MediaFindings {
  camera: DeviceCheck;
  microphone: DeviceCheck;
}

export type NetworkFindings =
  | {
      ok: true;
      found: FoundKinds;
      turn: TurnAuth;
      /** A STUN or TURN URL was configured (something that could have given a public address). */
      serversConfigured: boolean;
    }
  /** The test could not run: the ICE servers could not be fetched, or the browser has no WebRTC. */
  | { ok: false; message: string };

export const VERDICT_TEXT = {
  anyNetwork: 'Calls should work on any network',
  noRelay:
    'Calls will work on this network and with people on open networks, but may fail with people behind strict firewalls: no relay reachable',
  sameNetworkOnly: 'Calls will only work with people on this same network: no public address or relay could be reached',
  noServers: 'Calls will only work with people on this same network: no STUN or relay (TURN) server is configured',
  noCandidates: 'Calls cannot connect from this device: the browser found no network address to use',
  mediaOk: 'Camera and microphone work',
} as const;

const TURN_NOTE: Partial<Record<TurnAuth, string>> = {
  not_configured: 'No relay (TURN) server is configured: please ask an administrator to set one up.',
  rejected: 'The relay rejected the credentials: an administrator should check the TURN secret shared by Parley and the relay.',
  unreachable: 'The relay (TURN) server could not be reached: this network may block it.',
  failed: 'No relay address was obtained: authentication or reachability failed.',
};

export function networkFindings(network: NetworkFindings): Finding[] {
  if (!network.ok) return [{ level: 'bad', text: `Could not test the network: ${network.message}` }];
  const { found, turn } = network;
  const relay = hasRelay(found);
  if (!found.host && !found.srflx && !relay) return [{ level: 'bad', text: VERDICT_TEXT.noCandidates }];
  if (relay) {
    const findings: Finding[] = [{ level: 'good', text: VERDICT_TEXT.anyNetwork }];
    if (!found.relayUdp && !found.relayOther) {
      findings.push({
        level: 'warning',
        text: 'UDP to the relay is blocked here: calls will be relayed over TCP or TLS, which works but may add delay.',
        note: true,
      });
    }
    return findings;
  }
  const note = TURN_NOTE[turn];
  const notes = (level: Level): Finding[] => (note ? [{ level, text: note, note: true }] : []);
  if (found.srflx) return [{ level: 'warning', text: VERDICT_TEXT.noRelay }, ...notes('warning')];
  if (!network.serversConfigured) return [{ level: 'bad', text: VERDICT_TEXT.noServers }];
  return [{ level: 'bad', text: VERDICT_TEXT.sameNetworkOnly }, ...notes('bad')];
}

export function mediaFindings(media: MediaFindings): Finding[] {
  const findings: Finding[] = [];
  if (!media.microphone.ok) findings.push({ level: 'bad', text: `${media.microphone.message} — calls need a microphone.` });
  if (!media.camera.ok) findings.push({ level: 'warning', text: `${media.camera.message} — audio calls still work, but others will not see you.` });
  if (findings.length === 0) findings.push({ level: 'good', text: VERDICT_TEXT.mediaOk });
  return findings;
}

const RANK: Record<Level, number> = { good: 0, warning: 1, bad: 2 };

/** Everything found, worst first within the order network, then camera and microphone. */
export function verdict(network: NetworkFindings, media: MediaFindings | null): Verdict {
  const findings = [...networkFindings(network), ...(media ? mediaFindings(media) : [])];
  const worst = findings.filter((f) => !f.note).reduce((a, b) => (RANK[b.level] > RANK[a.level] ? b : a));
  // A media problem is stated on its own; the network's headline comes first when all is well.
  const headline = worst.level === 'good' ? findings[0]!.text : mediaHeadline(worst, media) ?? worst.text;
  return { level: worst.level, headline, findings };
}

/** "No camera found" rather than the long sentence, when the worst is a device. */
function mediaHeadline(worst: Finding, media: MediaFindings | null): string | null {
  if (!media) return null;
  for (const device of [media.microphone, media.camera]) {
    if (!device.ok && worst.text.startsWith(device.message)) return device.message;
  }
  return null;
}
