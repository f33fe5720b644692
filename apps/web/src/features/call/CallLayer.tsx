import { Avatar } from '../../components/Avatar.tsx';
import type { CallController } from './callController.ts';
import { CallView } from './CallView.tsx';
import { IncomingCallDialog } from './IncomingCallDialog.tsx';
import { useCallState } from './useCall.ts';

/**
 * Whatever this device shows of a call, above the pages: the ringing dialog, the call view, or a
 * short notice about a call that ended before it was answered here ("Missed call").
 */
export function CallLayer({ controller }: { controller: CallController }) {
  const { call, microphones, cameras, ringPreview } = useCallState(controller);
  if (!call) return null;
  const devices = { microphones, cameras, ringPreview };

  if (call.direction === 'incoming' && !call.answered) {
    if (!call.end) return <IncomingCallDialog key={call.key} controller={controller} call={call} devices={devices} />;
    return (
      <div className="call-notice">
        <Avatar name={call.peer.name} seed={call.peer.seed} size="md" />
        <div role="status" className="call-notice-text">
          <span className="call-notice-title">{call.end.text}</span>
          <span className="call-notice-detail">{call.end.detail ?? call.peer.name}</span>
        </div>
        <button type="button" className="link-button" onClick={() => controller.dismiss()}>
          Close
        </button>
      </div>
    );
  }
  return <CallView key={call.key} controller={controller} call={call} devices={devices} />;
}
