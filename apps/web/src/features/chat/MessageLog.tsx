import { useLayoutEffect, useMemo, useRef } from 'react';
import { clockTime, dayLabel } from '../../lib/format.ts';
import type { Thread } from './chatClient.ts';
import type { OutboxEntry } from './outbox.ts';
import { buildTimeline } from './timeline.ts';

interface MessageLogProps {
  peerName: string;
  myId: string;
  conversationId: string;
  thread: Thread | undefined;
  outbox: readonly OutboxEntry[];
  onLoadEarlier: () => void;
  onReload: () => void;
  onRetry: (messageId: string) => void;
  onDiscard: (messageId: string) => void;
}

/** Pixels from the bottom within which the log counts as "at the bottom" and follows new messages. */
const STICK_PX = 80;

export function MessageLog(props: MessageLogProps) {
  const { peerName, myId, conversationId, thread, outbox } = props;
  const items = useMemo(
    () => buildTimeline(thread?.messages ?? [], outbox, conversationId, myId),
    [thread?.messages, outbox, conversationId, myId],
  );
  const logRef = useRef<HTMLDivElement>(null);
  const before = useRef({ scrollHeight: 0, scrollTop: 0, atBottom: true, firstKey: '', lastKey: '' });

  // Keep the reader's place: follow new messages when at the bottom (or when they are one's own),
  // and hold the view still when earlier messages are put on top.
  useLayoutEffect(() => {
    const log = logRef.current;
    if (!log) return;
    const first = items.find((i) => i.kind !== 'day');
    const last = items.at(-1);
    const firstKey = first?.key ?? '';
    const lastKey = last?.key ?? '';
    const previous = before.current;
    if (previous.lastKey === '') {
      log.scrollTop = log.scrollHeight;
    } else if (lastKey !== previous.lastKey) {
      if (previous.atBottom || (last?.kind === 'message' && last.mine)) log.scrollTop = log.scrollHeight;
    } else if (firstKey !== previous.firstKey) {
      log.scrollTop = previous.scrollTop + (log.scrollHeight - previous.scrollHeight);
    }
    before.current = { scrollHeight: log.scrollHeight, scrollTop: log.scrollTop, atBottom: isAtBottom(log), firstKey, lastKey };
  }, [items]);

  function onScroll() {
    const log = logRef.current;
    if (!log) return;
    before.current = { ...before.current, scrollHeight: log.scrollHeight, scrollTop: log.scrollTop, atBottom: isAtBottom(log) };
  }

  return (
    <div ref={logRef} className="message-log" role="log" aria-label={`Conversation with ${peerName}`} onScroll={onScroll}>
      {thread?.hasMore && (
        <div className="load-earlier">
          <button type="button" className="button-secondary" onClick={props.onLoadEarlier} disabled={thread.loadingEarlier}>
            Load earlier messages
          </button>
        </div>
      )}
      {(!thread || thread.status === 'loading') && items.length === 0 && <p className="log-note">Loading messages…</p>}
      {thread?.status === 'error' && (
        <div className="log-note" role="alert">
          <p>{thread.error}</p>
          <button type="button" className="button-secondary" onClick={props.onReload}>
            Try again
          </button>
        </div>
      )}
      {thread?.status === 'ready' && items.length === 0 && (
        <p className="log-note">No messages yet. Say hello to {peerName}.</p>
      )}
      {thread?.status === 'ready' && thread.error && (
        <p className="log-note inline-error" role="alert">
          {thread.error}
        </p>
      )}
      {items.map((item) =>
        item.kind === 'day' ? (
          <div key={item.key} className="day-separator">
            <span>{dayLabel(item.at)}</span>
          </div>
        ) : item.kind === 'call' ? (
          <div key={item.key} className="call-entry">
            <span className="call-entry-pill">
              {item.text} · <time dateTime={item.at}>{clockTime(item.at)}</time>
              {item.quality && (
                <>
                  <span className="sr-only"> · </span>
                  <span className="call-entry-quality">{item.quality}</span>
                </>
              )}
            </span>
          </div>
        ) : (
          <div
            key={item.key}
            className={['message', item.mine ? 'is-mine' : 'is-theirs', item.continued ? 'is-continued' : '', `is-${item.status}`].join(' ')}
          >
            <div className="message-bubble">
              <span className="sr-only">{item.mine ? 'You' : peerName}: </span>
              <p className="message-body">{item.body}</p>
              <span className="message-meta">
                <time dateTime={item.at}>{clockTime(item.at)}</time>
                {item.status === 'sending' && <span className="message-status">Sending…</span>}
              </span>
            </div>
            {item.status === 'failed' && (
              <div className="message-failed">
                <span>Not sent: {item.error}</span>
                <button type="button" className="link-button" onClick={() => props.onRetry(item.id)}>
                  Retry
                </button>
                <button type="button" className="link-button" onClick={() => props.onDiscard(item.id)}>
                  Discard
                </button>
              </div>
            )}
          </div>
        ),
      )}
    </div>
  );
}

function isAtBottom(el: HTMLElement): boolean {
  return el.scrollHeight - el.scrollTop - el.clientHeight < STICK_PX;
}
