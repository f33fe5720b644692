import type { StatsSample } from './quality.ts';

/** Which way the media does not go: `inbound` nothing arrives from the peer; `outbound` the peer gets nothing from us. */
export type OneWay = 'inbound' | 'outbound';

export const DEFAULT_WATCHDOG = {
  /** Inbound RTP flat this long while the transport says connected → restart ICE. */
  stallMs: 4_000,
  /** Still flat this long after that restart → the call is one-way (inbound). */
  oneWayMs: 6_000,
  /**
   * The peer's receiver reports flat this long while we send → one-way (outbound). Longer than the
   * inbound check: browsers send audio receiver reports only every few seconds.
   */
  peerSilentMs: 12_000,
};
export type WatchdogOptions = typeof DEFAULT_WATCHDOG;

/** What the watchdog wants done after a sample. */
export interface WatchdogVerdict {
  /** Restart ICE now: media stopped arriving although the transport is up. */
  restartIce: boolean;
  /** The one-way condition changed (to this value; null when media flows both ways again). */
  changed: boolean;
}

/**
 * A call that says "connected" must carry media. Fed the same getStats samples as the quality
 * meter, it watches the inbound RTP counters while the transport is up: flat for stallMs → one
 * ICE restart; still flat oneWayMs later → `inbound` one-way. The peer's RTCP receiver reports
 * (remote-inbound-rtp), where the implementation gives them, show the other direction: once seen
 * and then flat for peerSilentMs while we keep sending → `outbound`. Media flowing again clears it.
 */
export class MediaWatchdog {
  readonly #options: WatchdogOptions;
  #previous: StatsSample | null = null;
  /** When the inbound counters last grew (or the transport came up). */
  #inboundAt: number | null = null;
  /** When the peer's reports last grew; null until they have been seen at all. */
  #peerHeardAt: number | null = null;
  #restartedAt: number | null = null;
  #oneWay: OneWay | null = null;
  #seenOneWay: OneWay | null = null;

  constructor(options: Partial<WatchdogOptions> = {}) {
    this.#options = { ...DEFAULT_WATCHDOG, ...options };
  }

  /** The media goes one way only right now; null while it flows both ways (or cannot be told). */
  get oneWay(): OneWay | null {
    return this.#oneWay;
  }

  /** The first one-way condition this call went through, for the history (it stays once seen). */
  get seenOneWay(): OneWay | null {
    return this.#seenOneWay;
  }

  /** One reading. `transportUp`: ICE and DTLS say connected (the only time a stall means anything). */
  observe(sample: StatsSample, transportUp: boolean): WatchdogVerdict {
    const previous = this.#previous;
    if (previous && sample.at <= previous.at) return { restartIce: false, changed: false };
    this.#previous = sample;
    const before = this.#oneWay;
    if (!transportUp || !previous) {
      // Not up: ICE itself is on it (restarts, reconnect window). Stalls count from the next up.
      this.#inboundAt = null;
      this.#restartedAt = null;
      if (sample.peerHeard > 0 && this.#peerHeardAt === null) this.#peerHeardAt = sample.at;
      return { restartIce: false, changed: false };
    }
    const inboundGrew = sample.packetsReceived > previous.packetsReceived || sample.bytesReceived > previous.bytesReceived;
    const peerGrew = sample.peerHeard > previous.peerHeard;
    const sending = sample.bytesSent > previous.bytesSent;
    if (inboundGrew || this.#inboundAt === null) this.#inboundAt = sample.at;
    if (inboundGrew) this.#restartedAt = null;
    // The peer's reports count once seen at all; while we send nothing, their silence means nothing.
    if (peerGrew || (this.#peerHeardAt === null ? sample.peerHeard > 0 : !sending)) this.#peerHeardAt = sample.at;

    let restartIce = false;
    if (!inboundGrew && this.#restartedAt === null && sample.at - this.#inboundAt >= this.#options.stallMs) {
      this.#restartedAt = sample.at;
      restartIce = true;
    }
    const inboundDead = this.#restartedAt !== null && sample.at - this.#restartedAt >= this.#options.oneWayMs;
    const outboundDead = this.#peerHeardAt !== null && sample.at - this.#peerHeardAt >= this.#options.peerSilentMs;
    this.#oneWay = inboundDead ? 'inbound' : outboundDead ? 'outbound' : null;
    if (this.#oneWay) this.#seenOneWay ??= this.#oneWay;
    return { restartIce, changed: this.#oneWay !== before };
  }
}
