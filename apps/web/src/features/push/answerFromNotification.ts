import { ANSWER_PARAM, Id } from '@parley/protocol';
import { useEffect } from 'react';

/**
 * The call a notification's "Answer" asked this page to answer: `/?answer=<callId>` when the
 * service worker opened Parley, or a message from it when Parley was already open. Read once and
 * removed from the address, so a reload does not answer again.
 */
export function takeAnswerRequest(): string | null {
  const url = new URL(window.location.href);
  const raw = url.searchParams.get(ANSWER_PARAM);
  if (raw === null) return null;
  url.searchParams.delete(ANSWER_PARAM);
  window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash);
  const id = Id.safeParse(raw);
  return id.success ? id.data : null;
}

/** What the hook needs of the call feature (SignedInApp adapts the call controller). */
export interface AnswerableCalls {
  subscribe(listener: () => void): () => void;
  /** The id of the incoming call ringing on this device right now, else null. */
  ringingCallId(): string | null;
  answer(): void;
}

/** How long an Answer waits for its call to ring here: the page still has to load and connect. */
const WAIT_MS = 60_000;

// Module state, not effect state: React may run an effect twice (StrictMode), and the address is
// read only once, so the request must outlive any one run of the effect.
let pending: { callId: string; until: number } | null = null;
const want = (callId: string | null) => {
  if (callId) pending = { callId, until: Date.now() + WAIT_MS };
};
want(takeAnswerRequest());

/**
 * Answers the call the notification named once it rings on this device: the server sends a device
 * that connects while a call rings for its person that call's invite, so the normal rules apply
 * (first answer wins; an ended call never rings, and nothing happens).
 */
export function useAnswerFromNotification(calls: AnswerableCalls): void {
  useEffect(() => {
    const check = () => {
      if (!pending) return;
      if (Date.now() > pending.until) {
        pending = null;
        return;
      }
      if (calls.ringingCallId() === pending.callId) {
        console.info(`[Push] answering call ${pending.callId.slice(0, 8)} from its notification`);
        pending = null;
        calls.answer();
      }
    };
    const onMessage = (e: MessageEvent) => {
      const data = e.data as { type?: unknown; callId?: unknown } | null;
      if (data?.type !== 'answer') return;
      want(Id.safeParse(data.callId).data ?? null);
      check();
    };
    const unsubscribe = calls.subscribe(check);
    navigator.serviceWorker?.addEventListener('message', onMessage);
    check();
    return () => {
      unsubscribe();
      navigator.serviceWorker?.removeEventListener('message', onMessage);
    };
  }, [calls]);
}
