import { createRequire } from 'node:module';
import type { EndReason } from '@parley/protocol';
import type * as PromClient from 'prom-client';
import type { Metrics } from './metrics.ts';

/** Set-up times from a few tens of ms (loopback) to the 20 s after which a call without media ends. */
const SETUP_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20];

/**
 * One Prometheus registry per server instance (tests build many apps in one process, so nothing
 * goes into prom-client's global registry). Each node of a cluster reports its own figures;
 * Prometheus adds them up (docs/performance.md, "Metrics"). Built only with METRICS_TOKEN set:
 * prom-client is required here, not imported, so a server without /metrics never loads it (an
 * `import`, even of this file, would be hoisted to the top of the compiled bundle).
 */
export class PrometheusMetrics implements Metrics {
  readonly registry: PromClient.Registry;
  private readonly messages: PromClient.Counter;
  private readonly turnCredentials: PromClient.Counter;
  private readonly active: PromClient.Gauge;
  private readonly ended: PromClient.Counter<'reason'>;
  private readonly setup: PromClient.Histogram;

  constructor(sources: { socketsConnected(): number }) {
    const prom = createRequire(import.meta.url)('prom-client') as typeof PromClient;
    this.registry = new prom.Registry();
    const registers = [this.registry];
    prom.collectDefaultMetrics({ register: this.registry });
    new prom.Gauge({
      name: 'parley_sockets_connected',
      help: 'socket.io connections open on this node',
      registers,
      collect() {
        this.set(sources.socketsConnected());
      },
    });
    this.active = new prom.Gauge({ name: 'parley_active_calls', help: 'Calls ringing or answered on this node', registers });
    this.ended = new prom.Counter({ name: 'parley_calls_ended_total', help: 'Calls ended, by end reason', labelNames: ['reason'], registers });
    this.setup = new prom.Histogram({
      name: 'parley_call_setup_seconds',
      help: 'From the invite reaching the server to a device of the call reporting it connected',
      buckets: SETUP_BUCKETS,
      registers,
    });
    this.messages = new prom.Counter({ name: 'parley_messages_total', help: 'Chat messages stored (resent duplicates not counted)', registers });
    this.turnCredentials = new prom.Counter({ name: 'parley_turn_credentials_issued_total', help: 'ICE configurations handed out with TURN credentials', registers });
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

  messageStored(): void {
    this.messages.inc();
  }

  turnCredentialsIssued(): void {
    this.turnCredentials.inc();
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  close(): void {
    this.registry.clear();
  }
}
