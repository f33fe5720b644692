import type { Logger } from '@parley/call';

/**
 * The localStorage key that turns the call engine's debug lines on in this browser:
 * `localStorage.setItem('parley:debug', '1')` in DevTools, then reload. The browser journeys set it.
 */
export const DEBUG_LOG_KEY = 'parley:debug';

/** Whether this browser asked for debug lines (storage may be unavailable: then it did not). */
export function debugLogEnabled(storage: Pick<Storage, 'getItem'> | undefined = globalThis.localStorage): boolean {
  try {
    return storage?.getItem(DEBUG_LOG_KEY) === '1';
  } catch {
    return false;
  }
}

const ignore = (): void => undefined;

/**
 * The call engine's logger in the browser: info, warnings and errors go to the console; debug lines
 * (one per signal sent, per ICE candidate queued, per state transition) only when asked for. Each
 * console call costs the page main-thread time — more with DevTools or an automation client attached
 * — and during call set-up those lines come in bursts exactly while the page should be reading the
 * next signal.
 */
export function browserCallLogger(base: Logger = console, debug: boolean = debugLogEnabled()): Logger {
  return {
    debug: debug ? (message, ...details) => base.debug(message, ...details) : ignore,
    info: (message, ...details) => base.info(message, ...details),
    warn: (message, ...details) => base.warn(message, ...details),
    error: (message, ...details) => base.error(message, ...details),
  };
}
