import { timingSafeEqual, createHash } from 'node:crypto';
import type { EndReason } from '@parley/protocol';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

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

/** Set-up times from a few tens of ms (loopback) to the 20 s after which a call without media ends. */
const SETUP_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20];

/**
 * One Prometheus registry per server instance (tests build many apps in one process, so nothing
 * goes into prom-client's global registry). Each node of a cluster reports its own figures;
 * Prometheus adds them up (docs/performance.md, "Metrics").
 */
export class Metrics implements CallMetrics {
  readonly registry = new Registry();
  readonly messages: Counter;
  readonly turnCredentials: Counter;
  private readonly active: Gauge;
  private readonly ended: Counter<'reason'>;
  private readonly setup: Histogram;

  constructor(sources: { socketsConnected(): number }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'parley_sockets_connected',
      help: 'socket.io connections open on this node',
      registers,
      collect() {
        this.set(sources.socketsConnected());
      },
    });
    this.active = new Gauge({ name: 'parley_active_calls', help: 'Calls ringing or answered on this node', registers });
    this.ended = new Counter({ name: 'parley_calls_ended_total', help: 'Calls ended, by end reason', labelNames: ['reason'], registers });
    this.setup = new Histogram({
      name: 'parley_call_setup_seconds',
      help: 'From the invite reaching the server to a device of the call reporting it connected',
      buckets: SETUP_BUCKETS,
      registers,
    });
    this.messages = new Counter({ name: 'parley_messages_total', help: 'Chat messages stored (resent duplicates not counted)', registers });
    this.turnCredentials = new Counter({ name: 'parley_turn_credentials_issued_total', help: 'ICE configurations handed out with TURN credentials', registers });
  }

  callOpened(): void {
    this.active.inc();
  }

  callEnded(reason: EndReason, opened: boolean): void {
    this.ended.inc({ reason });
    if (opened) this.active.dec();
  }

  callConnected(seconds: number): void {
    this.setup.observe(Math.max(0, seconds));
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  close(): void {
    this.registry.clear();
  }
}

/** Constant-time check of an `Authorization: Bearer <token>` header (hashing first evens the lengths). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1]!), digest(token));
}
