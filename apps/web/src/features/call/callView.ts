import type { AgentCall, CallDetails, CallPhase } from '@parley/call';
import type { CallKind, EndReason } from '@parley/protocol';
import type { DeviceOption } from './devices.ts';

export type { CallPhase };

/** The other person. `seed` colours their avatar the way the rest of the app does (their email). */
export interface CallPeer {
  id: string;
  name: string;
  seed: string;
}

export interface CallEndView {
  reason: EndReason;
  by: 'local' | 'remote';
  /** In plain words (endReasons.ts). */
  text: string;
  /** What exactly failed, e.g. "Camera permission was denied". */
  detail: string | null;
}

/** One call as the UI renders it. A new object on every change. */
export interface CallView {
  /** Changes with every new call on this device (React key). */
  key: number;
  callId: string | null;
  direction: 'outgoing' | 'incoming';
  peer: CallPeer;
  kind: CallKind;
  /** Show the video layout: a video call, or an audio call where either side turned a camera on. */
  video: boolean;
  phase: CallPhase;
  /** This device answered or placed a call that got answered (it reached `connecting`). */
  answered: boolean;
  /** Caller: a callee device is ringing. */
  remoteRinging: boolean;
  /** RTCPeerConnection.iceConnectionState, `new` before there is one. */
  ice: string;
  /** RTCPeerConnection.connectionState. */
  connection: string;
  /** Epoch ms of the first `connected` (the call timer). */
  connectedAt: number | null;
  localStream: MediaStream | null;
  /** Callee of a video call while it rings: its own camera, as it would answer (no microphone, nothing sent). */
  preview: MediaStream | null;
  cameraOn: boolean;
  /** The camera is being turned on or switched. */
  cameraBusy: boolean;
  remoteStream: MediaStream | null;
  /** The remote side sends live video right now (else its avatar is shown). */
  remoteVideo: boolean;
  muted: boolean;
  /** Callee: camera and microphone are being acquired after Answer. */
  answering: boolean;
  /** Media could not be had. For a video call whose camera failed, audio only may go on. */
  mediaError: { message: string; canContinueAudioOnly: boolean } | null;
  /** A problem that does not end the call (a device switch failed). */
  notice: string | null;
  /** How the media travels, measured every second once connected ("Call details"); null before the first reading. */
  details: CallDetails | null;
  /** "Poor connection: 14 % packet loss" while loss or delay has been bad for a few seconds. */
  qualityWarning: string | null;
  /** "You can't hear or see Dana" / "Dana can't hear or see you" while the engine finds the media one-way. */
  oneWay: string | null;
  end: CallEndView | null;
}

export interface DevicePicker {
  options: readonly DeviceOption[];
  /** The option shown as selected; null when there is none. */
  selected: string | null;
}

export interface CallSnapshot {
  call: CallView | null;
  microphones: DevicePicker;
  cameras: DevicePicker;
  /** This device shows its camera while a video call rings (CallController.setRingPreview). */
  ringPreview: boolean;
}

/** The web app's call: the engine's AgentCall plus what only this page holds (media, screen state). */
export interface ActiveCall {
  key: number;
  call: AgentCall<MediaStreamTrack, MediaStream>;
  peer: CallPeer;
  video: boolean;
  localStream: MediaStream | null;
  /** The camera shown while a video call rings here (LocalMedia.preview()); taken over by the answer. */
  preview: MediaStream | null;
  /** A video call whose camera failed: the microphone, waiting for "Continue with audio only". */
  pendingAudioOnly: MediaStream | null;
  answering: boolean;
  cameraBusy: boolean;
  muted: boolean;
  remoteStream: MediaStream | null;
  remoteVideo: boolean;
  mediaError: CallView['mediaError'];
  notice: string | null;
  endDetail: string | null;
  end: CallEndView | null;
  endTimer: ReturnType<typeof setTimeout> | null;
  /**
   * The camera's way from its start size to the full size (LocalMedia.raiseWhenFlowing): `waiting`
   * for the call to connect, `fallback`/`soon` while a raise is scheduled (no remote frames yet /
   * the first remote frames arrived), `done` once raised or when there is nothing to raise.
   */
  fullSize: 'waiting' | 'fallback' | 'soon' | 'done';
  /** Listeners on tracks and streams, removed when the call ends. */
  cleanups: (() => void)[];
}
