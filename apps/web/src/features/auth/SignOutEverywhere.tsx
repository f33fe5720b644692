import { useState } from 'react';
import { errorMessage } from '../../lib/http.ts';

/**
 * Settings: ends every session of the person (every browser and phone, this one too). For a lost
 * phone, or a shared computer someone forgot to sign out of. The app renders; the server decides.
 */
export function SignOutEverywhere({ onSignOutEverywhere }: { onSignOutEverywhere: () => Promise<void> }) {
  const [working, setWorking] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function run() {
    setWorking(true);
    setError(null);
    try {
      await onSignOutEverywhere();
    } catch (err) {
      setError(errorMessage(err));
      setWorking(false);
    }
  }

  return (
    <section className="card sign-out-everywhere" aria-labelledby="sign-out-everywhere-title">
      <h2 className="card-title" id="sign-out-everywhere-title">
        Devices
      </h2>
      <p className="push-help">Signs you out on every device where you are signed in, this one too: for a lost phone or a shared computer.</p>
      <button type="button" className="button-danger" disabled={working} onClick={() => void run()}>
        {working ? 'Signing out…' : 'Sign out everywhere'}
      </button>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
