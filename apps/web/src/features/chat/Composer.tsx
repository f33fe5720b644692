import { useState } from 'react';
import { LIMITS } from '@parley/protocol';
import { checkDraft, isSendKey } from './draft.ts';

interface ComposerProps {
  onSend: (body: string) => void;
  autoFocus?: boolean;
}

/** Mounted per conversation (keyed by the page), so a draft stays with its conversation's view. */
export function Composer({ onSend, autoFocus = false }: ComposerProps) {
  const [draft, setDraft] = useState('');
  const check = checkDraft(draft);

  function send() {
    if (!check.canSend) return;
    onSend(draft);
    setDraft('');
  }

  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <label htmlFor="composer-input" className="sr-only">
        Message
      </label>
      <textarea
        id="composer-input"
        className="composer-input"
        rows={1}
        autoFocus={autoFocus}
        placeholder="Write a message"
        value={draft}
        aria-describedby={check.showCounter ? 'composer-counter' : undefined}
        aria-invalid={check.tooLong || undefined}
        onChange={(e) => setDraft(e.target.value)}
        onKeyDown={(e) => {
          if (isSendKey(e, e.nativeEvent.isComposing)) {
            e.preventDefault();
            send();
          }
        }}
      />
      {check.showCounter && (
        <span id="composer-counter" className={check.tooLong ? 'composer-counter is-over' : 'composer-counter'} aria-live="polite">
          {check.length} / {LIMITS.messageBodyMax}
        </span>
      )}
      <button type="submit" className="button-primary" disabled={!check.canSend}>
        Send
      </button>
    </form>
  );
}
