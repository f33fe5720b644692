import { useId, useState, type FormEvent } from 'react';
import { Password, ROLES, type PublicUser, type Role } from '@parley/protocol';
import { Avatar } from '../../components/Avatar.tsx';
import { ROLE_LABELS } from '../../lib/format.ts';
import { errorMessage } from '../../lib/http.ts';
import { resetPassword, updateUser } from './adminApi.ts';

interface UserRowProps {
  user: PublicUser;
  /** The signed-in admin: they cannot demote or deactivate themselves and lock everyone out. */
  isSelf: boolean;
  onUpdated: (user: PublicUser) => void;
}

export function UserRow({ user, isSelf, onUpdated }: UserRowProps) {
  const id = useId();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [password, setPassword] = useState('');
  const [passwordNote, setPasswordNote] = useState<string | null>(null);

  async function update(change: { role: Role } | { active: boolean }) {
    setBusy(true);
    setError(null);
    try {
      onUpdated(await updateUser(user.id, change));
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  async function onSetPassword(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setPasswordNote(null);
    setError(null);
    const parsed = Password.safeParse(password);
    if (!parsed.success) {
      setError(`Password ${parsed.error.issues[0]?.message ?? 'is not valid'}.`);
      return;
    }
    setBusy(true);
    try {
      await resetPassword(user.id, parsed.data);
      setPassword('');
      setPasswordNote('Password updated.');
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  const toggleLabel = `${user.active ? 'Deactivate' : 'Reactivate'} ${user.name}`;

  return (
    <tr className={user.active ? undefined : 'is-inactive'}>
      <th scope="row">
        <span className="user-cell">
          <Avatar name={user.name} seed={user.email} size="sm" />
          <span>
            {user.name}
            {isSelf && <span className="you-tag"> (you)</span>}
          </span>
        </span>
      </th>
      <td className="cell-email">{user.email}</td>
      <td>
        <label htmlFor={`${id}-role`} className="sr-only">
          Role for {user.name}
        </label>
        <select
          id={`${id}-role`}
          className="select-compact"
          value={user.role}
          disabled={busy || isSelf}
          onChange={(e) => void update({ role: e.target.value as Role })}
        >
          {ROLES.map((role) => (
            <option key={role} value={role}>
              {ROLE_LABELS[role]}
            </option>
          ))}
        </select>
      </td>
      <td>
        <span className={user.active ? 'status-pill is-active' : 'status-pill'}>{user.active ? 'Active' : 'Inactive'}</span>
      </td>
      <td>
        <form className="password-form" onSubmit={(e) => void onSetPassword(e)} noValidate>
          <label htmlFor={`${id}-password`} className="sr-only">
            New password for {user.name}
          </label>
          <input
            id={`${id}-password`}
            type="password"
            autoComplete="new-password"
            placeholder="New password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          {/* Only the row being typed in shows its button, so "Set password" names one button. */}
          {password && (
            <button type="submit" className="button-secondary" disabled={busy}>
              Set password
            </button>
          )}
        </form>
        {passwordNote && (
          <span className="form-success" role="status">
            {passwordNote}
          </span>
        )}
      </td>
      <td className="cell-actions">
        <button
          type="button"
          className={user.active ? 'button-danger' : 'button-secondary'}
          aria-label={toggleLabel}
          disabled={busy || isSelf}
          title={isSelf ? 'You cannot deactivate your own account.' : undefined}
          onClick={() => void update({ active: !user.active })}
        >
          {user.active ? 'Deactivate' : 'Reactivate'}
        </button>
        {error && (
          <p className="field-error" role="alert">
            {error}
          </p>
        )}
      </td>
    </tr>
  );
}
