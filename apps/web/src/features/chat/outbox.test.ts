import type { Message, SendMessage } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { Outbox, TIMEOUT_ERROR, type OutboxEntry, type SendOutcome } from './outbox.ts';

const conversationId = '9a3c1c5e-6f0a-4c7e-8f38-2d9b1b0c0e01';
const senderId = '11111111-1111-4111-8111-111111111111';

/** A transport whose every attempt is answered by the test, in any order. */
function harness(options: { maxTimeouts?: number } = {}) {
  const attempts: { payload: SendMessage; answer: (outcome: SendOutcome) => void }[] = [];
  const stored: Message[] = [];
  let entries: readonly OutboxEntry[] = [];
  let n = 0;
  const outbox = new Outbox({
    transport: (payload) => new Promise((resolve) => attempts.push({ payload, answer: resolve })),
    onChange: (next) => {
      entries = next;
    },
    onStored: (message) => stored.push(message),
    newId: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
    now: () => new Date(Date.UTC(2025, 0, 1)),
    ...options,
  });
  const storedAs = (payload: SendMessage, seq: number): SendOutcome => ({
    kind: 'stored',
    message: { ...payload, seq, senderId, kind: 'text', call: null, createdAt: '2025-01-01T00:00:01.000Z' },
  });
  const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
  return { outbox, attempts, stored, entries: () => entries, storedAs, tick };
}

describe('Outbox', () => {
  it('shows a message as sending at once and removes it when acknowledged', async () => {
    const h = harness();
    h.outbox.setConnected(true);
    const entry = h.outbox.enqueue(conversationId, 'Room 4 is ready');
    expect(h.entries()).toEqual([expect.objectContaining({ id: entry.id, status: 'sending', body: 'Room 4 is ready' })]);
    expect(h.attempts).toHaveLength(1);
    expect(h.attempts[0]?.payload).toEqual({ id: entry.id, conversationId, body: 'Room 4 is ready' });

    h.attempts[0]?.answer(h.storedAs(h.attempts[0].payload, 1));
    await h.tick();
    expect(h.entries()).toEqual([]);
    expect(h.stored.map((m) => m.id)).toEqual([entry.id]);
  });

  it('waits while offline and sends on connect', async () => {
    const h = harness();
    h.outbox.enqueue(conversationId, 'one');
    h.outbox.enqueue(conversationId, 'two');
    expect(h.attempts).toHaveLength(0);
    expect(h.entries().map((e) => e.status)).toEqual(['sending', 'sending']);
    h.outbox.setConnected(true);
    expect(h.attempts.map((a) => a.payload.body)).toEqual(['one', 'two']);
  });

  it('retries the SAME id after a reconnect when no ack arrived', async () => {
    const h = harness();
    h.outbox.setConnected(true);
    const entry = h.outbox.enqueue(conversationId, 'BP 120/80');
    // The connection drops before the ack: socket.io rejects the pending ack.
    h.outbox.setConnected(false);
    h.attempts[0]?.answer({ kind: 'lost', reason: 'disconnected' });
    await h.tick();
    expect(h.entries()[0]?.status).toBe('sending');
    expect(h.attempts).toHaveLength(1);

    h.outbox.setConnected(true);
    expect(h.attempts).toHaveLength(2);
    expect(h.attempts[1]?.payload).toEqual(h.attempts[0]?.payload);
    expect(h.attempts[1]?.payload.id).toBe(entry.id);
  });

  it('does not send an entry twice while an attempt is in flight', () => {
    const h = harness();
    h.outbox.setConnected(true);
    h.outbox.enqueue(conversationId, 'hi');
    h.outbox.setConnected(true);
    h.outbox.flush();
    expect(h.attempts).toHaveLength(1);
  });

  it('settles an entry whose message arrived another way (sync after reconnect)', async () => {
    const h = harness();
    h.outbox.setConnected(true);
    const entry = h.outbox.enqueue(conversationId, 'hi');
    h.outbox.setConnected(false);
    h.outbox.settle(entry.id);
    expect(h.entries()).toEqual([]);
    // The late answer of the old attempt changes nothing and adds nothing new.
    h.attempts[0]?.answer({ kind: 'lost', reason: 'disconnected' });
    await h.tick();
    h.outbox.setConnected(true);
    expect(h.attempts).toHaveLength(1);
    expect(h.entries()).toEqual([]);
  });

  it('marks a refused message failed with the server message, and retries on request with the same id', async () => {
    const h = harness();
    h.outbox.setConnected(true);
    const entry = h.outbox.enqueue(conversationId, 'hello');
    h.attempts[0]?.answer({ kind: 'rejected', error: { code: 'recipient_inactive', message: 'Nina no longer has an account.' } });
    await h.tick();
    expect(h.entries()[0]).toMatchObject({ status: 'failed', error: 'Nina no longer has an account.' });

    h.outbox.retry(entry.id);
    expect(h.entries()[0]).toMatchObject({ status: 'sending', error: null });
    expect(h.attempts[1]?.payload.id).toBe(entry.id);
    h.attempts[1]?.answer(h.storedAs(h.attempts[1].payload, 1));
    await h.tick();
    expect(h.entries()).toEqual([]);
  });

  it('retries timeouts while connected, then gives up until asked', async () => {
    const h = harness({ maxTimeouts: 2 });
    h.outbox.setConnected(true);
    const entry = h.outbox.enqueue(conversationId, 'hello');
    h.attempts[0]?.answer({ kind: 'lost', reason: 'timeout' });
    await h.tick();
    expect(h.attempts).toHaveLength(2);
    expect(h.attempts[1]?.payload.id).toBe(entry.id);
    h.attempts[1]?.answer({ kind: 'lost', reason: 'timeout' });
    await h.tick();
    expect(h.attempts).toHaveLength(2);
    expect(h.entries()[0]).toMatchObject({ status: 'failed', error: TIMEOUT_ERROR });
    // A reconnect does not resend failed entries on its own.
    h.outbox.setConnected(true);
    expect(h.attempts).toHaveLength(2);
  });

  it('treats a transport that throws as a lost attempt', async () => {
    const h = harness();
    const outbox = new Outbox({
      transport: () => Promise.reject(new Error('boom')),
      onChange: () => {},
      onStored: () => {},
      maxTimeouts: 1,
    });
    outbox.setConnected(true);
    outbox.enqueue(conversationId, 'x');
    await h.tick();
    expect(outbox.entries[0]?.status).toBe('failed');
  });

  it('discards a failed entry', async () => {
    const h = harness();
    h.outbox.setConnected(true);
    const entry = h.outbox.enqueue(conversationId, 'x');
    h.attempts[0]?.answer({ kind: 'rejected', error: { code: 'forbidden', message: 'No.' } });
    await h.tick();
    h.outbox.discard(entry.id);
    expect(h.entries()).toEqual([]);
  });
});
