import type { PushSetting } from './usePushSetting.ts';

const LABEL = 'Ring this device when Parley is closed';

/** The notification settings: one switch, and when it cannot work, why. */
export function PushSettings({ setting }: { setting: PushSetting }) {
  const { state } = setting;
  const on = state.status === 'on';
  const disabled = state.status === 'unavailable' || state.status === 'checking' || state.status === 'working';
  return (
    <section className="card push-settings" aria-labelledby="push-settings-title">
      <h2 className="card-title" id="push-settings-title">
        Notifications
      </h2>
      <label className="push-switch">
        <input
          type="checkbox"
          role="switch"
          checked={on}
          disabled={disabled}
          onChange={() => void (on ? setting.disable() : setting.enable())}
        />
        <span>{LABEL}</span>
      </label>
      <p className="push-help">
        Calls ring this browser, and new messages show a notification, even when no Parley tab is open. Notifications say who is
        calling or writing, never what a message says.
      </p>
      {state.status === 'unavailable' && (
        <p className="form-error" role="status">
          {state.reason}
        </p>
      )}
      {state.status === 'off' && state.error && (
        <p className="form-error" role="alert">
          {state.error}
        </p>
      )}
      {on && (
        <p className="form-success" role="status">
          This device rings when Parley is closed.
        </p>
      )}
    </section>
  );
}

/** Offered once after sign-in, while this browser could be rung but is not. */
export function PushOffer({ setting, onDismiss }: { setting: PushSetting; onDismiss: () => void }) {
  const { state } = setting;
  if (state.status !== 'off' && state.status !== 'working') return null;
  return (
    <div className="push-offer" role="region" aria-label="Notifications">
      <span className="push-offer-text">{state.status === 'off' && state.error ? state.error : `${LABEL}?`}</span>
      <button type="button" className="button-primary" disabled={state.status === 'working'} onClick={() => void setting.enable()}>
        Turn on
      </button>
      <button type="button" className="button-ghost" onClick={onDismiss}>
        Not now
      </button>
    </div>
  );
}
