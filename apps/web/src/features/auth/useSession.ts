import type { PublicUser } from '@parley/protocol';
import { useCallback, useEffect, useState } from 'react';
import { onUnauthenticated, RequestError } from '../../lib/http.ts';
import { fetchMe, signOut as requestSignOut } from './authApi.ts';

export type Session =
  | { status: 'loading' }
  | { status: 'signed-out'; /** Why the person is here, if it was not their choice. */ notice: string | null }
  | { status: 'signed-in'; user: PublicUser };

export interface SessionControls {
  session: Session;
  signedIn: (user: PublicUser) => void;
  signOut: () => Promise<void>;
  /** The server ended the session; show the sign-in page with this notice. */
  ended: (notice: string) => void;
}

const EXPIRED = 'Your session has ended. Please sign in again.';

/** Who is signed in: asked of the server once, then kept in step with sign-in, sign-out and 401s. */
export function useSession(): SessionControls {
  const [session, setSession] = useState<Session>({ status: 'loading' });

  useEffect(() => {
    let cancelled = false;
    fetchMe().then(
      (user) => {
        if (!cancelled) setSession({ status: 'signed-in', user });
      },
      (err: unknown) => {
        if (cancelled) return;
        const unreachable = err instanceof RequestError && err.code !== 'unauthenticated';
        setSession({ status: 'signed-out', notice: unreachable ? err.message : null });
      },
    );
    return () => {
      cancelled = true;
    };
  }, []);

  // Any request refused with 401 means the cookie is gone (expired, signed out elsewhere).
  useEffect(
    () =>
      onUnauthenticated(() =>
        setSession((current) => (current.status === 'signed-in' ? { status: 'signed-out', notice: EXPIRED } : current)),
      ),
    [],
  );

  const signedIn = useCallback((user: PublicUser) => setSession({ status: 'signed-in', user }), []);
  const ended = useCallback((notice: string) => setSession({ status: 'signed-out', notice }), []);
  const signOut = useCallback(async () => {
    try {
      await requestSignOut();
    } catch {
      // Signing out locally is what the person asked for; the cookie expires on its own.
    }
    setSession({ status: 'signed-out', notice: null });
  }, []);

  return { session, signedIn, signOut, ended };
}
