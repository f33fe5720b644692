/*
 * Media without a camera or microphone, for werift peers: a source that writes RTP packets onto a
 * local track at a steady rate, a counter of the RTP packets a remote track receives, and a
 * forwarder that sends back what a remote track receives (an echo of a browser's real media).
 */
import { randomBytes } from 'node:crypto';
import { RtpHeader, RtpPacket, type MediaStreamTrack, type RTCRtpReceiver, type RTCRtpSender } from 'werift';

export interface RtpSourceOptions {
  /** Packets per second. Default 50: one Opus frame every 20 ms. */
  packetsPerSecond?: number;
  /** Payload bytes per packet. Default 80 (a 32 kbit/s voice stream). At least 1. */
  payloadBytes?: number;
  /** RTP clock rate of the codec. Default 48,000 (Opus). */
  clockRate?: number;
  /** How often the timer runs; packets due since the last run all go out, so a late timer loses none. Default 20 ms. */
  tickMs?: number;
}

/**
 * Opus-shaped dummy audio on a local werift track: `packetsPerSecond` packets, timestamps
 * advancing by one 20 ms frame (960 at 48 kHz) each, each payload a valid single-frame Opus packet
 * (TOC 0xf8: CELT, fullband, 20 ms, mono) of noise. werift's sender rewrites SSRC, payload type
 * and header extensions to what was negotiated, so any Opus receiver counts and decodes them.
 * Reusable: one source per call, start() when the call connects (packets before are dropped).
 */
export class RtpSource {
  readonly track: MediaStreamTrack;
  readonly #pps: number;
  readonly #payload: Buffer;
  readonly #timestampStep: number;
  readonly #tickMs: number;
  #timer: ReturnType<typeof setInterval> | null = null;
  #startedAt = 0;
  #sent = 0;
  #scheduled = 0;
  #skipped = 0;
  #sequence = randomBytes(2).readUInt16BE(0);
  #timestamp = randomBytes(4).readUInt32BE(0);

  constructor(track: MediaStreamTrack, options: RtpSourceOptions = {}) {
    if (track.remote) throw new Error('RtpSource needs a local track (new MediaStreamTrack({ kind }))');
    this.track = track;
    this.#pps = options.packetsPerSecond ?? 50;
    const bytes = Math.max(1, options.payloadBytes ?? 80);
    if (!(this.#pps > 0)) throw new Error(`packetsPerSecond must be positive (got ${this.#pps})`);
    this.#payload = Buffer.concat([Buffer.from([0xf8]), randomBytes(bytes - 1)]);
    this.#timestampStep = Math.round((options.clockRate ?? 48_000) / this.#pps);
    this.#tickMs = options.tickMs ?? 20;
  }

  /** Packets written onto the track so far. */
  get sent(): number {
    return this.#sent;
  }

  /** Packets the schedule skipped after a stall of more than a second (never written, so never expected). */
  get skipped(): number {
    return this.#skipped;
  }

  get running(): boolean {
    return this.#timer !== null;
  }

  start(): void {
    if (this.#timer) return;
    this.#startedAt = performance.now();
    const base = this.#scheduled;
    this.#timer = setInterval(() => {
      const due = base + Math.floor(((performance.now() - this.#startedAt) / 1000) * this.#pps);
      // A timer stalled for seconds (a blocked event loop) would burst; cap the catch-up at one second.
      if (due - this.#scheduled > this.#pps) {
        this.#skipped += due - this.#pps - this.#scheduled;
        this.#scheduled = due - this.#pps;
      }
      for (; this.#scheduled < due; this.#scheduled++) this.#writeOne();
    }, this.#tickMs);
    this.#timer.unref?.();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #writeOne(): void {
    this.#sequence = (this.#sequence + 1) & 0xffff;
    this.#timestamp = (this.#timestamp + this.#timestampStep) >>> 0;
    const header = new RtpHeader({ sequenceNumber: this.#sequence, timestamp: this.#timestamp, marker: false, payloadType: 0 });
    this.track.writeRtp(new RtpPacket(header, this.#payload));
    this.#sent++;
  }
}

/** A window of a counter: how many packets and bytes arrived in it, and the rates. */
export interface RtpWindow {
  packets: number;
  bytes: number;
  ms: number;
  packetsPerSecond: number;
  bytesPerSecond: number;
}

/** Counts the RTP packets (and payload bytes) a remote werift track receives. */
export class RtpCounter {
  readonly track: MediaStreamTrack;
  #packets = 0;
  #bytes = 0;
  readonly #unsubscribe: () => void;

  constructor(track: MediaStreamTrack) {
    this.track = track;
    const { unSubscribe } = track.onReceiveRtp.subscribe((rtp) => {
      this.#packets++;
      this.#bytes += rtp.payload.length;
    });
    this.#unsubscribe = unSubscribe;
  }

  get packets(): number {
    return this.#packets;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** What arrives during the next `ms`. */
  async measure(ms: number): Promise<RtpWindow> {
    const start = { packets: this.#packets, bytes: this.#bytes, at: performance.now() };
    await new Promise((resolve) => setTimeout(resolve, ms));
    const elapsed = performance.now() - start.at;
    const packets = this.#packets - start.packets;
    const bytes = this.#bytes - start.bytes;
    return { packets, bytes, ms: elapsed, packetsPerSecond: (packets * 1000) / elapsed, bytesPerSecond: (bytes * 1000) / elapsed };
  }

  stop(): void {
    this.#unsubscribe();
  }
}

export interface ForwardRtpOptions {
  /** The receiver of `from`: asked for a key frame when the peer asks us for one (video). */
  receiver?: RTCRtpReceiver;
  /** The sender of `to`: where the peer's key-frame requests (RTCP PLI/FIR) arrive. */
  sender?: RTCRtpSender;
}

/**
 * Sends every packet `from` (a remote track) receives out on `to` (a local track): the peer gets
 * its own media back. Header extensions are dropped (their ids belong to the other direction);
 * werift's sender writes its own. With `receiver` and `sender`, a key-frame request from the peer
 * is passed on to the peer's sender, and one is asked for at once, so video decodes from the start.
 * Returns the stop function.
 */
export function forwardRtp(from: MediaStreamTrack, to: MediaStreamTrack, options: ForwardRtpOptions = {}): () => void {
  const stops: (() => void)[] = [];
  const askKeyFrame = () => {
    if (options.receiver && from.ssrc !== undefined) void options.receiver.sendRtcpPLI(from.ssrc).catch(() => undefined);
  };
  let first = true;
  stops.push(
    from.onReceiveRtp.subscribe((rtp) => {
      const header = new RtpHeader({
        sequenceNumber: rtp.header.sequenceNumber,
        timestamp: rtp.header.timestamp,
        marker: rtp.header.marker,
        payloadType: rtp.header.payloadType,
      });
      to.writeRtp(new RtpPacket(header, rtp.payload));
      if (first) {
        first = false;
        askKeyFrame();
      }
    }).unSubscribe,
  );
  if (options.sender) {
    // 206: payload-specific feedback (PLI, FIR): the peer cannot decode what we forward.
    stops.push(options.sender.onRtcp.subscribe((rtcp) => (rtcp.type === 206 ? askKeyFrame() : undefined)).unSubscribe);
  }
  return () => {
    for (const stop of stops.splice(0)) stop();
  };
}
