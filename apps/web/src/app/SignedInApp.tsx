import { useCallback, useMemo, useRef, useState } from 'react';
import type { PublicUser } from '@parley/protocol';
import { AdminPage } from '../features/admin/AdminPage.tsx';
import { signOutEverywhere as requestSignOutEverywhere } from '../features/auth/authApi.ts';
import { SignOutEverywhere } from '../features/auth/SignOutEverywhere.tsx';
import { CallButtons } from '../features/call/CallButtons.tsx';
import { CallLayer } from '../features/call/CallLayer.tsx';
import { useCallController } from '../features/call/useCall.ts';
import type { SessionEndReason } from '../features/chat/chatClient.ts';
import { ChatPage } from '../features/chat/ChatPage.tsx';
import { useChatClient } from '../features/chat/useChat.ts';
import { ConnectionTestPage } from '../features/connection-test/ConnectionTestPage.tsx';
import { useAnswerFromNotification, type AnswerableCalls } from '../features/push/answerFromNotification.ts';
import { unsubscribe as stopPush } from '../features/push/pushClient.ts';
import { PushOffer, PushSettings } from '../features/push/PushSettings.tsx';
import { usePushSetting } from '../features/push/usePushSetting.ts';
import { useHashRoute } from '../lib/useHashRoute.ts';
import { useRealtimeSocket } from '../lib/useRealtimeSocket.ts';
import { TopBar } from './TopBar.tsx';

interface SignedInAppProps {
  me: PublicUser;
  onSignOut: () => Promise<void>;
  onSessionEnded: (notice: string) => void;
}

const END_NOTICES: Record<SessionEndReason, string> = {
  signed_out: 'You were signed out.',
  deactivated: 'Your account has been deactivated. Please contact a clinic administrator.',
  expired: 'You were signed out after a period of inactivity.',
  unauthenticated: 'Your session has ended. Please sign in again.',
};

export function SignedInApp({ me, onSignOut, onSessionEnded }: SignedInAppProps) {
  const route = useHashRoute();
  const [signingOut, setSigningOut] = useState(false);
  // Our own sign-out also ends the session on the socket; that is not news to the person.
  const signingOutRef = useRef(false);
  const endSession = useCallback(
    (reason: SessionEndReason) => {
      if (!signingOutRef.current) onSessionEnded(END_NOTICES[reason]);
    },
    [onSessionEnded],
  );
  // One socket for the session (its device id is this page load's), shared by chat and calls.
  const socket = useRealtimeSocket();
  // Lives as long as the session, so presence and the outbox survive a visit to the admin page.
  const chat = useChatClient(me, socket, endSession);
  // An incoming caller's email colours their avatar as in the conversation list; the chat knows it.
  const resolvePeer = useCallback(
    (userId: string) => {
      const peer = Object.values(chat.getState().conversations).find((c) => c.peer.id === userId)?.peer;
      return peer ? { name: peer.name, seed: peer.email } : undefined;
    },
    [chat],
  );
  const calls = useCallController(socket, resolvePeer);
  const push = usePushSetting();
  const [pushOfferDismissed, setPushOfferDismissed] = useState(false);
  // A notification's Answer opened or focused this page: answer that call once it rings here.
  const answerable = useMemo<AnswerableCalls>(
    () => ({
      subscribe: calls.subscribe,
      ringingCallId: () => {
        const c = calls.getSnapshot().call;
        return c && c.direction === 'incoming' && c.phase === 'ringing' && !c.answering ? c.callId : null;
      },
      answer: () => void calls.answer(),
    }),
    [calls],
  );
  useAnswerFromNotification(answerable);
  const isAdmin = me.role === 'admin';
  const page =
    route.page === 'admin' && isAdmin ? 'admin' : route.page === 'connection-test' ? 'connection-test' : route.page === 'settings' ? 'settings' : 'chat';

  const callButtons = useCallback(
    (peer: PublicUser) => (
      <CallButtons controller={calls} peer={{ id: peer.id, name: peer.name, seed: peer.email }} disabled={!peer.active} />
    ),
    [calls],
  );

  async function signOut() {
    signingOutRef.current = true;
    setSigningOut(true);
    // Hang up while the socket is still there to carry it (the session's end closes the socket).
    calls.hangup();
    // This browser stops ringing for a person who signed out of it (the server forgets it too).
    await Promise.race([stopPush(), new Promise((r) => setTimeout(r, 2000))]).catch(() => undefined);
    await onSignOut();
  }

  async function signOutEverywhere() {
    signingOutRef.current = true;
    calls.hangup();
    try {
      await requestSignOutEverywhere();
    } catch (err) {
      signingOutRef.current = false;
      throw err;
    }
    // The server deleted this browser's push subscription with the sessions.
    onSessionEnded('You were signed out on every device.');
  }

  return (
    <div className="app">
      <TopBar me={me} page={page} signingOut={signingOut} onSignOut={() => void signOut()} />
      {!pushOfferDismissed && page !== 'settings' && <PushOffer setting={push} onDismiss={() => setPushOfferDismissed(true)} />}
      {page === 'admin' ? (
        <AdminPage me={me} />
      ) : page === 'settings' ? (
        <main className="app-main settings-page">
          <PushSettings setting={push} />
          <SignOutEverywhere onSignOutEverywhere={signOutEverywhere} />
        </main>
      ) : page === 'connection-test' ? (
        <ConnectionTestPage />
      ) : (
        <main className="app-main">
          <ChatPage
            client={chat}
            conversationId={route.page === 'chat' ? route.conversationId : null}
            headerActions={callButtons}
          />
        </main>
      )}
      <CallLayer controller={calls} />
    </div>
  );
}
