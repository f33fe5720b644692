/*
 * The engine's PeerConnectionFactory on werift (pure TypeScript WebRTC for Node), so the same
 * CallSession that runs in the browser runs in Node: load tests, the werift e2e tests, bots.
 * Only this entry (`@parley/call/werift`) imports werift; the browser bundle never does.
 */
import { MediaStream, MediaStreamTrack, RTCPeerConnection, useOPUS, useVP8, type RTCRtpCodecParameters } from 'werift';
import type { CallSession } from '../call.ts';
import type { PeerConfiguration, PeerConnectionFactory } from '../webrtc.ts';
import { WeriftPeerConnection } from './peer-connection.ts';

/** A session whose tracks and streams are werift's. */
export type WeriftCallSession = CallSession<MediaStreamTrack, MediaStream>;
export type WeriftPeerConnectionFactory = PeerConnectionFactory<MediaStreamTrack, MediaStream>;

export interface WeriftFactoryOptions {
  /**
   * Host addresses to offer besides the interfaces' own. werift leaves loopback out; on a host
   * whose only interface is `lo` (a CI container, a test on 127.0.0.1) pass `['127.0.0.1']`.
   */
  additionalHostAddresses?: readonly string[];
  /** The codecs to negotiate. Default: Opus (audio) and VP8 (video), which Chromium and Firefox offer. */
  codecs?: { audio?: RTCRtpCodecParameters[]; video?: RTCRtpCodecParameters[] };
  /**
   * Called with every peer connection the engine creates, before the engine uses it: open a data
   * channel, subscribe to `onDataChannel`, read getStats(). Must not set the `on…` handlers, which
   * the engine owns.
   */
  onPeerConnection?: (pc: RTCPeerConnection) => void;
}

/** werift's defaults, written out: Opus/48000/2 and VP8/90000 with NACK, PLI and REMB feedback. */
export function defaultWeriftCodecs(): { audio: RTCRtpCodecParameters[]; video: RTCRtpCodecParameters[] } {
  return {
    audio: [useOPUS()],
    video: [useVP8()],
  };
}

/**
 * A factory for CallSession's `peerConnectionFactory`. The engine's configuration (ICE servers
 * with the TURN credentials the server minted, the transport policy) maps onto werift's, and the
 * connection is wrapped where werift and browsers differ (peer-connection.ts).
 */
export function weriftPeerConnectionFactory(options: WeriftFactoryOptions = {}): WeriftPeerConnectionFactory {
  const codecs = options.codecs ?? defaultWeriftCodecs();
  return (configuration: PeerConfiguration) => {
    const pc = new RTCPeerConnection({
      iceServers: (configuration.iceServers ?? []).map((s) => ({ ...s })),
      iceTransportPolicy: configuration.iceTransportPolicy ?? 'all',
      codecs,
      ...(options.additionalHostAddresses ? { iceAdditionalHostAddresses: [...options.additionalHostAddresses] } : {}),
    });
    options.onPeerConnection?.(pc);
    return new WeriftPeerConnection(pc, configuration);
  };
}

/** Local tracks for a call: one audio track, and a video track for a video call. Feed them with RtpSource or forwardRtp. */
export function weriftLocalStream(kind: 'audio' | 'video'): { stream: MediaStream; audio: MediaStreamTrack; video: MediaStreamTrack | null } {
  const audio = new MediaStreamTrack({ kind: 'audio' });
  const video = kind === 'video' ? new MediaStreamTrack({ kind: 'video' }) : null;
  const stream = new MediaStream(video ? [audio, video] : [audio]);
  return { stream, audio, video };
}
