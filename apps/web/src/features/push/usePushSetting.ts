import { useCallback, useEffect, useState } from 'react';
import { errorMessage } from '../../lib/http.ts';
import { isSubscribed, PushSetupError, pushUnavailableReason, subscribe, unsubscribe } from './pushClient.ts';

export type PushState =
  | { status: 'checking' }
  /** This browser cannot be rung by push here; `reason` says why in plain words. */
  | { status: 'unavailable'; reason: string }
  | { status: 'off'; error?: string }
  | { status: 'on' }
  | { status: 'working' };

export interface PushSetting {
  state: PushState;
  enable(): Promise<void>;
  disable(): Promise<void>;
}

/** "Ring this device when Parley is closed": this browser's push subscription for the session. */
export function usePushSetting(): PushSetting {
  const [state, setState] = useState<PushState>(() => {
    const reason = pushUnavailableReason();
    return reason ? { status: 'unavailable', reason } : { status: 'checking' };
  });

  useEffect(() => {
    if (pushUnavailableReason()) return;
    let live = true;
    isSubscribed().then(
      (on) => live && setState({ status: on ? 'on' : 'off' }),
      () => live && setState({ status: 'off' }),
    );
    return () => {
      live = false;
    };
  }, []);

  const enable = useCallback(async () => {
    setState({ status: 'working' });
    try {
      await subscribe();
      setState({ status: 'on' });
    } catch (err) {
      const reason = pushUnavailableReason();
      setState(reason ? { status: 'unavailable', reason } : { status: 'off', error: err instanceof PushSetupError ? err.message : errorMessage(err) });
    }
  }, []);

  const disable = useCallback(async () => {
    setState({ status: 'working' });
    await unsubscribe();
    setState({ status: 'off' });
  }, []);

  return { state, enable, disable };
}
