import { memo, useCallback, useId, useState } from 'react';
import { Avatar } from '../../components/Avatar.tsx';
import type { CallController, CallPeer, CallSnapshot, CallView as CallViewState } from './callController.ts';
import { formatTimer, phaseText, transportText } from './callStatus.ts';
import { CallDetailsPanel } from './CallDetailsPanel.tsx';
import { DevicePickers } from './DevicePickers.tsx';
import { HangUpIcon, InfoIcon, MicIcon, MicOffIcon, VideoIcon, VideoOffIcon } from './icons.tsx';
import { StreamAudio, StreamVideo } from './MediaElements.tsx';
import { useNow } from './useCall.ts';

interface CallViewProps {
  controller: CallController;
  call: CallViewState;
  devices: Pick<CallSnapshot, 'microphones' | 'cameras'>;
}

/** The call on screen: the other person (video or avatar), own video, status line and controls. */
export function CallView({ controller, call, devices }: CallViewProps) {
  const ended = call.end !== null;
  const preparing = call.phase === 'preparing';
  const timed = call.connectedAt !== null && !ended;
  const now = useNow(timed);
  const timer = timed ? formatTimer(now - call.connectedAt!) : null;
  const [detailsOpen, setDetailsOpen] = useState(false);
  const detailsId = useId();
  const canShowDetails = !ended && call.answered;

  let status: string;
  if (call.end) status = call.end.text;
  else if (call.mediaError) status = 'Not calling yet';
  else status = phaseText(call.phase, call.direction, call.remoteRinging);

  const onMicrophone = useCallback((id: string) => void controller.selectMicrophone(id), [controller]);
  const onCamera = useCallback((id: string) => void controller.selectCamera(id), [controller]);

  return (
    <section
      className={['call-view', call.video ? 'is-video' : 'is-audio', ended ? 'is-ended' : ''].join(' ')}
      aria-label={`Call with ${call.peer.name}`}
    >
      <div className="call-stage">
        <CallMedia
          video={call.video}
          ended={ended}
          peer={call.peer}
          remoteStream={call.remoteStream}
          remoteVideo={call.remoteVideo}
          localStream={call.localStream}
          cameraOn={call.cameraOn}
          cameraBusy={call.cameraBusy}
        />

        <header className="call-header">
          <h2 className="call-title">{call.peer.name}</h2>
          <div role="status" className="call-status">
            <span className="call-phase">{status}</span>
            {timer && (
              <span className="call-timer" aria-live="off">
                {' · '}
                {timer}
              </span>
            )}{' '}
            {!ended && !preparing && <span className="call-transport">{transportText(call.ice, call.connection)}</span>}
            {call.end?.detail && <span className="call-detail">{call.end.detail}</span>}
          </div>
          {canShowDetails && (
            <button
              type="button"
              className="call-details-toggle"
              aria-expanded={detailsOpen}
              aria-controls={detailsId}
              onClick={() => setDetailsOpen((open) => !open)}
            >
              <InfoIcon />
              <span>Call details</span>
            </button>
          )}
        </header>
        {canShowDetails && detailsOpen && <CallDetailsPanel id={detailsId} details={call.details} />}
      </div>

      {call.oneWay && !ended && (
        <p className="call-quality-warning" role="alert">
          {call.oneWay}
        </p>
      )}

      {call.qualityWarning && !ended && (
        <p className="call-quality-warning" role="alert">
          {call.qualityWarning}
        </p>
      )}

      {(call.mediaError || call.notice) && (
        <div className="call-media-error" role="alert">
          <p>{call.mediaError?.message ?? call.notice}</p>
          {call.mediaError?.canContinueAudioOnly && (
            <button type="button" className="button-primary" onClick={() => controller.continueAudioOnly()}>
              Continue with audio only
            </button>
          )}
        </div>
      )}

      {ended ? (
        <div className="call-controls">
          <button type="button" className="call-control" onClick={() => controller.dismiss()}>
            Close
          </button>
        </div>
      ) : (
        <>
          <CallControls controller={controller} preparing={preparing} muted={call.muted} cameraOn={call.cameraOn} cameraBusy={call.cameraBusy} />
          {!preparing && (
            <DevicePickers microphones={devices.microphones} cameras={devices.cameras} onMicrophone={onMicrophone} onCamera={onCamera} />
          )}
        </>
      )}
    </section>
  );
}

interface CallMediaProps {
  video: boolean;
  ended: boolean;
  peer: CallPeer;
  remoteStream: MediaStream | null;
  remoteVideo: boolean;
  localStream: MediaStream | null;
  cameraOn: boolean;
  cameraBusy: boolean;
}

/**
 * The other person (their video, or their avatar until it plays) and one's own video. Memoised: the
 * status line changes with every step of the set-up and every second of the timer, this only when
 * a stream or a camera does.
 */
const CallMedia = memo(function CallMedia({ video, ended, peer, remoteStream, remoteVideo, localStream, cameraOn, cameraBusy }: CallMediaProps) {
  const peerCard = (
    <div className="call-peer">
      <Avatar name={peer.name} seed={peer.seed} size="xl" />
      {!video && <p className="call-peer-name">{peer.name}</p>}
    </div>
  );
  if (!video) {
    return (
      <>
        <div className="call-stage-cover">{peerCard}</div>
        {!ended && <StreamAudio stream={remoteStream} />}
      </>
    );
  }
  return (
    <>
      <StreamVideo className="call-remote-video" stream={remoteStream} label="Remote video" />
      {(!remoteVideo || ended) && <div className="call-stage-cover">{peerCard}</div>}
      {!ended &&
        (cameraOn ? (
          <StreamVideo className="call-local-video" stream={localStream} label="Local video" muted />
        ) : (
          <div className="call-local-off">{cameraBusy ? 'Starting camera…' : 'Camera off'}</div>
        ))}
    </>
  );
});

interface CallControlsProps {
  controller: CallController;
  preparing: boolean;
  muted: boolean;
  cameraOn: boolean;
  cameraBusy: boolean;
}

/** Mute, camera and hang up (only hang up while the call is being prepared). */
const CallControls = memo(function CallControls({ controller, preparing, muted, cameraOn, cameraBusy }: CallControlsProps) {
  return (
    <div className="call-controls">
      {!preparing && (
        <>
          <button type="button" className={muted ? 'call-control is-off' : 'call-control'} onClick={() => controller.toggleMute()}>
            {muted ? <MicOffIcon /> : <MicIcon />}
            <span>{muted ? 'Unmute' : 'Mute'}</span>
          </button>
          <button
            type="button"
            className={cameraOn ? 'call-control' : 'call-control is-off'}
            onClick={() => void controller.toggleCamera()}
            disabled={cameraBusy}
          >
            {cameraOn ? <VideoIcon /> : <VideoOffIcon />}
            <span>{cameraOn ? 'Turn camera off' : 'Turn camera on'}</span>
          </button>
        </>
      )}
      <button type="button" className="call-control is-hangup" onClick={() => controller.hangup()}>
        <HangUpIcon />
        <span>Hang up</span>
      </button>
    </div>
  );
});
