import type { PushNotifier } from '../push/push-service.ts';
import type { CallNotice } from './call-types.ts';

/**
 * Told when a callee's devices are rung and when a call ends (with its outcome), for notifying
 * people outside the app (Web Push). It runs after the call's state is stored and its events are
 * emitted; it must not throw, and nothing waits for it.
 */
export interface CallNotifier {
  notify(notice: CallNotice): void | Promise<void>;
}


/** Web Push (features/push): rings subscribed browsers without a live socket, closes their notification when the ringing stops. */
export function pushCallNotifier(push: PushNotifier): CallNotifier {
  return {
    notify(n) {
      if (n.type === 'ring') push.callRinging({ callId: n.callId, calleeId: n.calleeId, callerName: n.caller.name, kind: n.kind, expiresAt: n.expiresAt });
      else if (n.type === 'answered') push.callClosed(n.callId, 'answered_elsewhere');
      else push.callClosed(n.callId, n.reason);
    },
  };
}
