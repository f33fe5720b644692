import { useId, useState } from 'react';
import { Avatar } from '../../components/Avatar.tsx';
import type { CallController, CallSnapshot, CallView as CallViewState } from './callController.ts';
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

  const peerCard = (
    <div className="call-peer">
      <Avatar name={call.peer.name} seed={call.peer.seed} size="xl" />
      {!call.video && <p className="call-peer-name">{call.peer.name}</p>}
    </div>
  );

  return (
    <section
      className={['call-view', call.video ? 'is-video' : 'is-audio', ended ? 'is-ended' : ''].join(' ')}
      aria-label={`Call with ${call.peer.name}`}
    >
      <div className="call-stage">
        {call.video ? (
          <>
            <StreamVideo className="call-remote-video" stream={call.remoteStream} label="Remote video" />
            {(!call.remoteVideo || ended) && <div className="call-stage-cover">{peerCard}</div>}
            {!ended &&
              (call.cameraOn ? (
                <StreamVideo className="call-local-video" stream={call.localStream} label="Local video" muted />
              ) : (
                <div className="call-local-off">{call.cameraBusy ? 'Starting camera…' : 'Camera off'}</div>
              ))}
          </>
        ) : (
          <>
            <div className="call-stage-cover">{peerCard}</div>
            {!ended && <StreamAudio stream={call.remoteStream} />}
          </>
        )}

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
          <div className="call-controls">
            {!preparing && (
              <>
                <button type="button" className={call.muted ? 'call-control is-off' : 'call-control'} onClick={() => controller.toggleMute()}>
                  {call.muted ? <MicOffIcon /> : <MicIcon />}
                  <span>{call.muted ? 'Unmute' : 'Mute'}</span>
                </button>
                <button
                  type="button"
                  className={call.cameraOn ? 'call-control' : 'call-control is-off'}
                  onClick={() => void controller.toggleCamera()}
                  disabled={call.cameraBusy}
                >
                  {call.cameraOn ? <VideoIcon /> : <VideoOffIcon />}
                  <span>{call.cameraOn ? 'Turn camera off' : 'Turn camera on'}</span>
                </button>
              </>
            )}
            <button type="button" className="call-control is-hangup" onClick={() => controller.hangup()}>
              <HangUpIcon />
              <span>Hang up</span>
            </button>
          </div>
          {!preparing && (
            <DevicePickers
              microphones={devices.microphones}
              cameras={devices.cameras}
              onMicrophone={(id) => void controller.selectMicrophone(id)}
              onCamera={(id) => void controller.selectCamera(id)}
            />
          )}
        </>
      )}
    </section>
  );
}
