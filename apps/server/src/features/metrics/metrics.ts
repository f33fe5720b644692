import { timingSafeEqual, createHash } from 'node:crypto';
import type { EndReason } from '@parley/protocol';

/**
 * What the call lifecycle tells the metrics: three calls, so the call code needs a line per event
 * and knows nothing about Prometheus.
 */
export interface CallMetrics {
  /** A call now exists on this node: it started ringing, or was rebuilt from call.resume. */
  callOpened(): void;
  /** A call ended with `reason`. `opened`: it had been counted by callOpened (busy/unavailable never ring). */
  callEnded(reason: EndReason, opened: boolean): void;
  /** A device of the call reported it connected, `seconds` after the server saw the invite. */
  callConnected(seconds: number): void;
}

/** Everything the server counts for /metrics (features/metrics/prometheus.ts counts it in Prometheus). */
export interface Metrics extends CallMetrics {
  /** A chat message was stored (a resent duplicate is not). */
  messageStored(): void;
  /** An ICE configuration with TURN credentials was handed out. */
  turnCredentialsIssued(): void;
}

/**
 * Without METRICS_TOKEN there is no /metrics, so nothing could ever read a figure: nothing is
 * counted, and prom-client is never loaded (docs/decisions/019-metrics-and-schema-compilers-only-when-used.md).
 */
export const noMetrics: Metrics = {
  callOpened() {},
  callEnded() {},
  callConnected() {},
  messageStored() {},
  turnCredentialsIssued() {},
};

/** Constant-time check of an `Authorization: Bearer <token>` header (hashing first evens the lengths). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1]!), digest(token));
}
