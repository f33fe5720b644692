import { RecordingLogger } from '@parley/call/testing';
import { describe, expect, it } from 'vitest';
import { browserCallLogger, DEBUG_LOG_KEY, debugLogEnabled } from './callLog.ts';

const storage = (values: Record<string, string>) => ({ getItem: (key: string) => values[key] ?? null });

describe('the call engine logger in the browser', () => {
  it('drops debug lines unless this browser asked for them, and passes every other level on', () => {
    const base = new RecordingLogger();
    const log = browserCallLogger(base, false);
    log.debug('→ call.ice');
    log.info('ICE: connected');
    log.warn('server refused call.ice: rate_limited');
    log.error('applying the remote offer failed');
    expect(base.lines).toEqual([
      { level: 'info', message: 'ICE: connected' },
      { level: 'warn', message: 'server refused call.ice: rate_limited' },
      { level: 'error', message: 'applying the remote offer failed' },
    ]);

    const verbose = new RecordingLogger();
    browserCallLogger(verbose, true).debug('→ call.ice');
    expect(verbose.lines).toEqual([{ level: 'debug', message: '→ call.ice' }]);
  });

  it(`turns debug on with localStorage ${DEBUG_LOG_KEY}=1, and stays off without storage`, () => {
    expect(debugLogEnabled(storage({ [DEBUG_LOG_KEY]: '1' }))).toBe(true);
    expect(debugLogEnabled(storage({}))).toBe(false);
    expect(debugLogEnabled(storage({ [DEBUG_LOG_KEY]: 'yes please' }))).toBe(false);
    expect(debugLogEnabled(undefined)).toBe(false);
    const refusing = {
      getItem: () => {
        throw new Error('SecurityError: storage is disabled');
      },
    };
    expect(debugLogEnabled(refusing)).toBe(false);
  });
});
