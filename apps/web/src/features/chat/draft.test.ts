import { LIMITS } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { checkDraft, isSendKey } from './draft.ts';

const key = (over: Partial<Parameters<typeof isSendKey>[0]> = {}) => ({
  key: 'Enter',
  shiftKey: false,
  altKey: false,
  ctrlKey: false,
  metaKey: false,
  ...over,
});

describe('checkDraft', () => {
  it('cannot send blank drafts', () => {
    expect(checkDraft('').canSend).toBe(false);
    expect(checkDraft('  \n ').canSend).toBe(false);
    expect(checkDraft(' ok ')).toMatchObject({ canSend: true, length: 2, showCounter: false });
  });

  it('shows the counter near the limit and refuses past it', () => {
    const max = LIMITS.messageBodyMax;
    expect(checkDraft('x'.repeat(max - 501)).showCounter).toBe(false);
    expect(checkDraft('x'.repeat(max - 500))).toMatchObject({ showCounter: true, remaining: 500, canSend: true });
    expect(checkDraft('x'.repeat(max))).toMatchObject({ remaining: 0, tooLong: false, canSend: true });
    expect(checkDraft('x'.repeat(max + 1))).toMatchObject({ remaining: -1, tooLong: true, canSend: false });
    // Surrounding whitespace does not count, as on the server.
    expect(checkDraft(` ${'x'.repeat(max)}\n`).canSend).toBe(true);
  });
});

describe('isSendKey', () => {
  it('sends on a plain Enter only', () => {
    expect(isSendKey(key(), false)).toBe(true);
    expect(isSendKey(key({ shiftKey: true }), false)).toBe(false);
    expect(isSendKey(key(), true)).toBe(false);
    expect(isSendKey(key({ key: 'a' }), false)).toBe(false);
  });
});
