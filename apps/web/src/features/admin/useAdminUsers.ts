import type { PublicUser } from '@parley/protocol';
import { useCallback, useEffect, useState } from 'react';
import { errorMessage } from '../../lib/http.ts';
import { listUsers } from './adminApi.ts';
import { sortUsers, upsertUser } from './users.ts';

type Load = { status: 'loading' } | { status: 'ready' } | { status: 'error'; error: string };

/** The admin's view of all accounts; rows report their changes back through `put`. */
export function useAdminUsers() {
  const [users, setUsers] = useState<PublicUser[]>([]);
  const [load, setLoad] = useState<Load>({ status: 'loading' });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let cancelled = false;
    listUsers().then(
      (list) => {
        if (cancelled) return;
        setUsers(list);
        setLoad({ status: 'ready' });
      },
      (err: unknown) => {
        if (!cancelled) setLoad({ status: 'error', error: errorMessage(err) });
      },
    );
    return () => {
      cancelled = true;
    };
  }, [attempt]);

  const put = useCallback((user: PublicUser) => setUsers((list) => upsertUser(list, user)), []);
  const reload = useCallback(() => {
    setLoad({ status: 'loading' });
    setAttempt((n) => n + 1);
  }, []);

  return { users: sortUsers(users), load, put, reload };
}
