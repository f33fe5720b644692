import type { CallController, CallPeer } from './callController.ts';
import { PhoneIcon, VideoIcon } from './icons.tsx';
import { useCallState } from './useCall.ts';

interface CallButtonsProps {
  controller: CallController;
  peer: CallPeer;
  /** E.g. the peer's account is deactivated. */
  disabled?: boolean;
}

/** "Audio call" and "Video call" in a conversation's header; disabled while this device is in a call. */
export function CallButtons({ controller, peer, disabled = false }: CallButtonsProps) {
  const { call } = useCallState(controller);
  const inCall = call !== null && call.phase !== 'ended';
  const off = disabled || inCall;
  return (
    <>
      <button
        type="button"
        className="call-button"
        aria-label="Audio call"
        title={`Audio call with ${peer.name}`}
        disabled={off}
        onClick={() => void controller.startCall(peer, 'audio')}
      >
        <PhoneIcon />
        <span className="call-button-text" aria-hidden="true">
          Audio call
        </span>
      </button>
      <button
        type="button"
        className="call-button"
        aria-label="Video call"
        title={`Video call with ${peer.name}`}
        disabled={off}
        onClick={() => void controller.startCall(peer, 'video')}
      >
        <VideoIcon />
        <span className="call-button-text" aria-hidden="true">
          Video call
        </span>
      </button>
    </>
  );
}
