import { useCallback, useRef, useState } from 'react';
import type { PublicUser } from '@parley/protocol';
import { AdminPage } from '../features/admin/AdminPage.tsx';
import type { SessionEndReason } from '../features/chat/chatClient.ts';
import { ChatPage } from '../features/chat/ChatPage.tsx';
import { useChatClient } from '../features/chat/useChat.ts';
import { useHashRoute } from '../lib/useHashRoute.ts';
import { TopBar } from './TopBar.tsx';

interface SignedInAppProps {
  me: PublicUser;
  onSignOut: () => Promise<void>;
  onSessionEnded: (notice: string) => void;
}

const END_NOTICES: Record<SessionEndReason, string> = {
  signed_out: 'You were signed out.',
  deactivated: 'Your account has been deactivated. Please contact a clinic administrator.',
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
  // Lives as long as the session, so presence and the outbox survive a visit to the admin page.
  const chat = useChatClient(me, endSession);
  const isAdmin = me.role === 'admin';
  const page = route.page === 'admin' && isAdmin ? 'admin' : 'chat';

  async function signOut() {
    signingOutRef.current = true;
    setSigningOut(true);
    await onSignOut();
  }

  return (
    <div className="app">
      <TopBar me={me} page={page} signingOut={signingOut} onSignOut={() => void signOut()} />
      {page === 'admin' ? (
        <AdminPage me={me} />
      ) : (
        <main className="app-main">
          <ChatPage client={chat} conversationId={route.page === 'chat' ? route.conversationId : null} />
        </main>
      )}
    </div>
  );
}
