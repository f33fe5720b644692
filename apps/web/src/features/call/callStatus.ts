import type { CallPhase } from './callController.ts';

/** "0:07", "12:30", "1:02:05": the running call timer. */
export function formatTimer(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** The phase in the call view's status line. */
export function phaseText(phase: CallPhase, direction: 'outgoing' | 'incoming', remoteRinging: boolean): string {
  switch (phase) {
    case 'preparing':
      return 'Calling…';
    case 'outgoing':
      return remoteRinging ? 'Ringing' : 'Calling…';
    case 'ringing':
      return direction === 'incoming' ? 'Incoming call' : 'Ringing';
    case 'connecting':
      return 'Connecting…';
    case 'connected':
      return 'Connected';
    case 'reconnecting':
      return 'Reconnecting…';
    case 'ended':
      return 'Call ended';
  }
}

/**
 * The transport line, in the words operators know from the field report:
 * "ICE: connected · Connection: connected".
 */
export function transportText(ice: string, connection: string): string {
  return `ICE: ${ice} · Connection: ${connection}`;
}
