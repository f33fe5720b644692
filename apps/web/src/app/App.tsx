import { SignInPage } from '../features/auth/SignInPage.tsx';
import { useSession } from '../features/auth/useSession.ts';
import { SignedInApp } from './SignedInApp.tsx';

/** The session gate: sign-in page or the app, nothing in between but a short loading screen. */
export function App() {
  const { session, signedIn, signOut, ended } = useSession();

  if (session.status === 'loading') {
    return (
      <div className="splash" role="status">
        <span className="brand-mark" aria-hidden="true" />
        Loading Parley…
      </div>
    );
  }
  if (session.status === 'signed-out') return <SignInPage onSignedIn={signedIn} notice={session.notice} />;
  // Keyed by person: a different sign-in gets a fresh chat client and no leftover state.
  return <SignedInApp key={session.user.id} me={session.user} onSignOut={signOut} onSessionEnded={ended} />;
}
