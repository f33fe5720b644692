import type { CallSession } from './call.ts';
import { describeError } from './errors.ts';
import { MediaWatchdog, type OneWay, type WatchdogOptions } from './media-watchdog.ts';
import { QualityMeter, readSample, type CallDetails, type QualityWarning } from './quality.ts';
import { allows } from './states.ts';
import type { Clock, Logger, StreamLike, TrackLike } from './webrtc.ts';

export interface CallMonitorOptions<Track extends TrackLike, Stream extends StreamLike<Track>> {
  /** The session measured now (a glare merge swaps it). */
  session: () => CallSession<Track, Stream> | null;
  clock: Clock;
  logger: () => Logger;
  /** getStats() every this many ms from the first `connected` to the end. */
  intervalMs: number;
  /** The quality summary for the history entry at most this often (and once at once). */
  reportMs: number;
  watchdog?: Partial<WatchdogOptions>;
  /** Details, warning or one-way condition changed. */
  onChange: () => void;
}

/**
 * Measures one call: reads getStats() every intervalMs once it is connected, keeps the quality
 * (QualityMeter), runs the media watchdog (an ICE restart when inbound RTP stalls on an up
 * transport, then the one-way condition) and reports the summary to the server for the history.
 */
export class CallMonitor<Track extends TrackLike, Stream extends StreamLike<Track>> {
  readonly #o: CallMonitorOptions<Track, Stream>;
  readonly #meter = new QualityMeter();
  readonly #watchdog: MediaWatchdog;
  #running = false;
  #stopped = false;
  #timer: unknown = null;
  #reportedAt: number | null = null;

  constructor(options: CallMonitorOptions<Track, Stream>) {
    this.#o = options;
    this.#watchdog = new MediaWatchdog(options.watchdog);
  }

  /** The last interval's path, RTT, loss and bitrates; null before two readings. */
  get details(): CallDetails | null {
    return this.#meter.details;
  }
  get warning(): QualityWarning | null {
    return this.#meter.warning;
  }
  /** The media goes one way only right now (after an ICE restart did not bring it back). */
  get oneWay(): OneWay | null {
    return this.#watchdog.oneWay;
  }

  start(): void {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    void this.#tick();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  /**
   * Sends the summary now (right before this side hangs up), from the last reading: a hang up
   * never waits for getStats(). Only while the call is connected or reconnecting.
   */
  reportNow(): void {
    const session = this.#o.session();
    if (!session || (session.state !== 'connected' && session.state !== 'reconnecting')) return;
    this.#report(session, true);
  }

  async #tick(): Promise<void> {
    this.#timer = null;
    if (this.#stopped) return;
    const session = this.#o.session();
    const report = await session?.getStats().catch((error: unknown) => {
      this.#o.logger().debug(`getStats failed: ${describeError(error)}`);
      return null;
    });
    if (this.#stopped) return;
    if (session && report) this.#add(session, readSample(report, this.#o.clock.now()));
    this.#timer = this.#o.clock.setTimeout(() => void this.#tick(), this.#o.intervalMs);
  }

  #add(session: CallSession<Track, Stream>, sample: ReturnType<typeof readSample>): void {
    const log = this.#o.logger();
    const before = { details: this.#meter.details, warning: this.#meter.warning };
    this.#meter.add(sample);
    const verdict = this.#watchdog.observe(sample, session.link === 'connected');
    if (verdict.restartIce && allows(session.state, 'restartIce')) {
      log.warn('No media has arrived for a few seconds although the transport is connected: restarting ICE');
      session.restartIce();
    }
    if (verdict.changed) {
      const oneWay = this.#watchdog.oneWay;
      log.warn(oneWay ? `Media flows one way only (${oneWay === 'inbound' ? 'nothing arrives' : 'the peer receives nothing'})` : 'Media flows both ways again');
    }
    if (this.#meter.warning !== before.warning) log.info(this.#meter.warning ? 'Poor connection' : 'Connection quality is back to normal');
    if (session.state === 'connected') this.#report(session, verdict.changed);
    if (verdict.changed || this.#meter.details !== before.details || this.#meter.warning !== before.warning) this.#o.onChange();
  }

  #report(session: CallSession<Track, Stream>, now: boolean): void {
    const at = this.#o.clock.now();
    if (!now && this.#reportedAt !== null && at - this.#reportedAt < this.#o.reportMs) return;
    const summary = this.#meter.summary(this.#watchdog.seenOneWay ?? undefined);
    if (!summary) return;
    this.#reportedAt = at;
    session.reportQuality(summary);
  }
}
