import { useId, useState, type FormEvent } from 'react';
import type { PublicUser } from '@parley/protocol';
import { errorMessage } from '../../lib/http.ts';
import { signIn } from './authApi.ts';

interface SignInPageProps {
  onSignedIn: (user: PublicUser) => void;
  /** Shown above the form, e.g. why the person was signed out. */
  notice: string | null;
}

export function SignInPage({ onSignedIn, notice }: SignInPageProps) {
  const id = useId();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (pending) return;
    if (!email.trim() || !password) {
      setError('Enter your email and password.');
      return;
    }
    setPending(true);
    setError(null);
    try {
      onSignedIn(await signIn(email.trim(), password));
    } catch (err) {
      setError(errorMessage(err));
      setPending(false);
    }
  }

  return (
    <main className="auth-page">
      <div className="auth-card">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          Parley
        </div>
        <h1>Welcome back</h1>
        <p className="auth-lead">Use your clinic account to continue.</p>
        {notice && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        <form className="form" onSubmit={(e) => void onSubmit(e)} noValidate>
          <div className="field">
            <label htmlFor={`${id}-email`}>Email</label>
            <input
              id={`${id}-email`}
              type="email"
              autoComplete="username"
              inputMode="email"
              autoCapitalize="off"
              spellCheck={false}
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor={`${id}-password`}>Password</label>
            <input
              id={`${id}-password`}
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </div>
          {error && (
            <p className="form-error" role="alert">
              {error}
            </p>
          )}
          <button type="submit" className="button-primary button-block" aria-busy={pending || undefined} disabled={pending}>
            Sign in
          </button>
        </form>
        <p className="auth-footnote">Forgot your password? Ask a clinic administrator to reset it.</p>
      </div>
    </main>
  );
}
