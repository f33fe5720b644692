import type { PublicUser } from '@parley/protocol';
import { useEffect } from 'react';
import { Avatar } from '../../components/Avatar.tsx';
import { ROLE_LABELS } from '../../lib/format.ts';
import { isOnline, type ChatState } from './chatClient.ts';
import { usePeopleSearch } from './useChat.ts';

interface PeopleResultsProps {
  query: string;
  state: ChatState;
  /** Id of the person whose conversation is being opened. */
  opening: string | null;
  onPick: (person: PublicUser) => void;
  /** Follows the presence of the people listed (the server only tells followers). */
  watch: (userIds: readonly string[]) => void;
}

export function PeopleResults({ query, state, opening, onPick, watch }: PeopleResultsProps) {
  const search = usePeopleSearch(query);
  const users = search.status === 'searching' || search.status === 'done' ? search.users : [];
  const shown = users.map((u) => u.id).join(',');
  useEffect(() => {
    watch(shown ? shown.split(',') : []);
    return () => watch([]);
  }, [shown, watch]);

  return (
    <section className="people-results" aria-label="People">
      <p className="list-caption" role="status">
        {search.status === 'searching' && 'Searching…'}
        {search.status === 'done' && (users.length === 0 ? 'Nobody matches that search.' : `${users.length} ${users.length === 1 ? 'person' : 'people'}`)}
      </p>
      {search.status === 'error' && (
        <p className="inline-error" role="alert">
          {search.error}
        </p>
      )}
      <ul className="person-list">
        {users.map((person) => (
          <li key={person.id} className="person">
            <Avatar name={person.name} seed={person.email} online={isOnline(state, person)} />
            <span className="person-text">
              {/* The button's name is exactly the person's name; details live beside it. */}
              <button type="button" className="person-button" disabled={opening !== null} onClick={() => onPick(person)}>
                {person.name}
              </button>
              <span className="person-meta">
                {ROLE_LABELS[person.role]} · {person.email}
              </span>
            </span>
            {opening === person.id && <span className="person-opening">Opening…</span>}
          </li>
        ))}
      </ul>
    </section>
  );
}
