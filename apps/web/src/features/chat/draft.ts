import { LIMITS } from '@parley/protocol';

/** The counter appears when this few characters are left. */
export const COUNTER_THRESHOLD = 500;

export interface DraftCheck {
  /** Characters as the server counts them: after trimming. */
  length: number;
  remaining: number;
  showCounter: boolean;
  tooLong: boolean;
  canSend: boolean;
}

export function checkDraft(draft: string, max: number = LIMITS.messageBodyMax): DraftCheck {
  const length = draft.trim().length;
  const remaining = max - length;
  return {
    length,
    remaining,
    showCounter: remaining <= COUNTER_THRESHOLD,
    tooLong: remaining < 0,
    canSend: length > 0 && remaining >= 0,
  };
}

interface KeyLike {
  key: string;
  shiftKey: boolean;
  altKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
}

/**
 * Enter sends; Shift+Enter (and Alt/Ctrl/Meta+Enter) keep their newline or native meaning.
 * `isComposing` is true while an input method (Japanese, Chinese…) is composing: Enter confirms the word.
 */
export function isSendKey(e: KeyLike, isComposing: boolean): boolean {
  return e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey && !isComposing;
}
