import type { CandidateError, FoundKinds, GatheredCandidate, TurnAuth, TurnUrlResult } from './candidates.ts';
import type { MediaFindings, Verdict } from './verdict.ts';

/*
 * The downloadable report: everything the test found, for an administrator. It never carries the
 * TURN credentials: servers are kept as their URLs only, and every string the credentials could
 * have reached is scrubbed once more before the file is made.
 */

export interface ServerConfig {
  urls: string | readonly string[];
  username?: string;
  credential?: string;
}

/** How the round trip to the relay was measured, if it was. */
export type RelayRtt =
  /** Two local peer connections connected through the relay; the check's path crosses it twice. */
  | { method: 'relay-pair'; rttMs: number; pairRttMs: number; relayProtocol: string | null }
  /** Time to get a relay address (challenge + allocation, about two round trips), halved. */
  | { method: 'estimate'; rttMs: number; firstRelayMs: number; note: string }
  | { method: 'none'; note: string };

export interface ConnectionReportInput {
  startedAt: string;
  finishedAt: string;
  userAgent: string;
  servers: readonly ServerConfig[];
  iceTransportPolicy: string | null;
  media: MediaFindings | null;
  gathering: {
    candidates: readonly GatheredCandidate[];
    errors: readonly CandidateError[];
    complete: boolean;
    durationMs: number;
  } | null;
  found: FoundKinds | null;
  turn: { auth: TurnAuth; urls: readonly TurnUrlResult[] } | null;
  relayRtt: RelayRtt | null;
  /** When the network part could not run. */
  networkError: string | null;
  verdict: Verdict | null;
}

export const REPORT_VERSION = 1;

export function buildReport(input: ConnectionReportInput): Record<string, unknown> {
  const secrets = input.servers.flatMap((s) => [s.username, s.credential]).filter((v): v is string => typeof v === 'string' && v.length > 0);
  const report = {
    report: 'parley-connection-test',
    version: REPORT_VERSION,
    startedAt: input.startedAt,
    finishedAt: input.finishedAt,
    userAgent: input.userAgent,
    verdict: input.verdict,
    media: input.media,
    network: {
      // URLs only: never the username or credential the server minted.
      iceServers: input.servers.map((s) => ({ urls: typeof s.urls === 'string' ? [s.urls] : [...s.urls] })),
      iceTransportPolicy: input.iceTransportPolicy,
      error: input.networkError,
      found: input.found,
      turn: input.turn,
      relayRtt: input.relayRtt,
      gathering: input.gathering,
    },
  };
  return scrub(report, secrets) as Record<string, unknown>;
}

/** Replaces every occurrence of a secret in any string of `value`. */
export function scrub(value: unknown, secrets: readonly string[]): unknown {
  if (secrets.length === 0) return value;
  if (typeof value === 'string') return secrets.reduce((s, secret) => s.split(secret).join('[removed]'), value);
  if (Array.isArray(value)) return value.map((v) => scrub(v, secrets));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v, secrets)]));
  }
  return value;
}

export function reportFileName(at: Date): string {
  const stamp = at.toISOString().replace(/[:]/g, '-').replace(/\.\d+Z$/, 'Z');
  return `parley-connection-test-${stamp}.json`;
}
