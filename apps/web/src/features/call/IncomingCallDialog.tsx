import { useCallback, useEffect, useRef } from 'react';
import { Avatar } from '../../components/Avatar.tsx';
import type { CallController, CallSnapshot, CallView } from './callController.ts';
import { DevicePickers } from './DevicePickers.tsx';
import { StreamVideo } from './MediaElements.tsx';
import { PhoneIcon, VideoIcon } from './icons.tsx';

interface IncomingCallDialogProps {
  controller: CallController;
  call: CallView;
  devices: Pick<CallSnapshot, 'microphones' | 'cameras' | 'ringPreview'>;
}

/** A call ringing on this device: who, what kind, Answer or Decline, and which devices to answer with. */
export function IncomingCallDialog({ controller, call, devices }: IncomingCallDialogProps) {
  const kind = call.kind === 'video' ? 'video call' : 'audio call';
  const ref = useRef<HTMLDivElement>(null);
  const onMicrophone = useCallback((id: string) => void controller.selectMicrophone(id), [controller]);
  const onCamera = useCallback((id: string) => void controller.selectCamera(id), [controller]);

  // Focus the dialog itself, not Answer: someone typing a message must not answer by pressing Enter.
  useEffect(() => {
    ref.current?.focus();
  }, []);

  return (
    <div
      ref={ref}
      className="incoming-call"
      role="dialog"
      aria-label={`Incoming ${kind} from ${call.peer.name}`}
      tabIndex={-1}
      onKeyDown={(e) => {
        if (e.key === 'Escape') controller.decline();
      }}
    >
      <div className="incoming-call-who">
        <span className="incoming-call-ring">
          <Avatar name={call.peer.name} seed={call.peer.seed} size="lg" />
        </span>
        <div className="incoming-call-text">
          <p className="incoming-call-name">{call.peer.name}</p>
          <p className="incoming-call-kind">
            {call.kind === 'video' ? <VideoIcon /> : <PhoneIcon />}
            Incoming {kind}
          </p>
        </div>
      </div>

      {call.kind === 'video' && (
        <div className="incoming-call-preview">
          {call.preview && <StreamVideo className="incoming-call-preview-video" stream={call.preview} label="Your camera" muted />}
          <label className="incoming-call-preview-toggle">
            <input type="checkbox" checked={devices.ringPreview} onChange={(e) => controller.setRingPreview(e.currentTarget.checked)} disabled={call.answering} />
            Show my camera while a call rings
          </label>
        </div>
      )}

      <DevicePickers
        microphones={devices.microphones}
        cameras={devices.cameras}
        onMicrophone={onMicrophone}
        onCamera={onCamera}
        disabled={call.answering}
      />

      {call.mediaError && (
        <div className="call-media-error" role="alert">
          <p>{call.mediaError.message}</p>
        </div>
      )}

      <div className="incoming-call-actions">
        <button type="button" className="button-danger" onClick={() => controller.decline()}>
          Decline
        </button>
        {call.mediaError?.canContinueAudioOnly ? (
          <button type="button" className="button-primary" onClick={() => controller.continueAudioOnly()}>
            Continue with audio only
          </button>
        ) : (
          <button type="button" className="button-primary button-answer" onClick={() => void controller.answer()} disabled={call.answering}>
            {call.kind === 'video' ? <VideoIcon /> : <PhoneIcon />}
            Answer
          </button>
        )}
      </div>
    </div>
  );
}
