import type { Conversation, Message, PublicUser } from '@parley/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ChatClient, type ChatSocket } from './chatClient.ts';

const me: PublicUser = { id: '11111111-1111-4111-8111-111111111111', name: 'Dana Doctor', email: 'dana@clinic.test', role: 'doctor', active: true, online: true };
const peer: PublicUser = { id: '22222222-2222-4222-8222-222222222222', name: 'Noor Nurse', email: 'noor@clinic.test', role: 'nurse', active: true, online: true };
const A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';

const message = (seq: number, senderId: string, id = `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`): Message => ({
  id,
  conversationId: A,
  seq,
  senderId,
  body: `m${seq}`,
  kind: 'text',
  call: null,
  createdAt: new Date(Date.UTC(2025, 0, 1, 0, seq)).toISOString(),
});

const conversation = (lastSeq: number, unread: number): Conversation => ({
  id: A,
  peer,
  lastMessage: lastSeq > 0 ? message(lastSeq, peer.id) : null,
  lastSeq,
  unread,
});

/** Enough of a socket.io client for the ChatClient: the test plays the server. */
class FakeSocket {
  connected = false;
  active = true;
  readonly emitted: { event: string; payload: unknown; answer: (res: unknown) => void; fail: (err: Error) => void }[] = [];
  /** Acks not yet answered, taken or not. */
  readonly #pending = new Set<(err: Error) => void>();
  readonly #handlers = new Map<string, ((...args: unknown[]) => void)[]>();

  on(event: string, handler: (...args: unknown[]) => void) {
    this.#handlers.set(event, [...(this.#handlers.get(event) ?? []), handler]);
    return this;
  }
  off(event: string, handler: (...args: unknown[]) => void) {
    this.#handlers.set(event, (this.#handlers.get(event) ?? []).filter((h) => h !== handler));
    return this;
  }
  listenerCount() {
    return [...this.#handlers.values()].reduce((n, list) => n + list.length, 0);
  }
  connect() {
    return this;
  }
  disconnect() {
    this.connected = false;
    return this;
  }
  timeout() {
    return this;
  }
  emitWithAck(event: string, payload: unknown) {
    return new Promise((resolve, reject) => {
      const fail = (err: Error) => {
        this.#pending.delete(fail);
        reject(err);
      };
      const answer = (res: unknown) => {
        this.#pending.delete(fail);
        resolve(res);
      };
      this.#pending.add(fail);
      this.emitted.push({ event, payload, answer, fail });
    });
  }

  /** The server's side. */
  fire(event: string, ...args: unknown[]) {
    for (const handler of this.#handlers.get(event) ?? []) handler(...args);
  }
  up() {
    this.connected = true;
    this.fire('connect');
  }
  down() {
    this.connected = false;
    this.fire('disconnect', 'transport close');
    // socket.io rejects acks still pending when the connection drops.
    this.emitted.splice(0);
    for (const fail of [...this.#pending]) fail(new Error('socket has been disconnected'));
  }
  take(event: string) {
    const index = this.emitted.findIndex((e) => e.event === event);
    if (index < 0) throw new Error(`nothing emitted as ${event}; have ${this.emitted.map((e) => e.event).join(', ')}`);
    return this.emitted.splice(index, 1)[0]!;
  }
  count(event: string) {
    return this.emitted.filter((e) => e.event === event).length;
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

let server: { conversations: Conversation[]; messages: Message[] };

beforeEach(() => {
  server = { conversations: [conversation(1, 0)], messages: [message(1, peer.id)] };
  vi.stubGlobal('fetch', async (url: string) => {
    const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
    if (url === '/api/conversations') return json({ conversations: server.conversations });
    if (url.startsWith(`/api/conversations/${A}/messages`)) return json({ messages: server.messages, hasMore: false });
    return new Response(JSON.stringify({ error: { code: 'not_found', message: 'Not found' } }), { status: 404 });
  });
});

afterEach(() => {
  vi.unstubAllGlobals();
});

async function connectedClient() {
  const socket = new FakeSocket();
  const client = new ChatClient({ me, socket: socket as unknown as ChatSocket });
  client.start();
  socket.up();
  await settle();
  socket.take('chat.sync').answer({ ok: true, conversations: [], messages: [], truncated: [] });
  await settle();
  return { socket, client };
}

describe('ChatClient', () => {
  it('shows a sent message once, whether the ack or the echo comes first', async () => {
    const { socket, client } = await connectedClient();
    client.setActive(A);
    await settle();
    client.send(A, '  Room 4 is ready  ');
    expect(client.getState().outbox).toHaveLength(1);
    const send = socket.take('message.send');
    expect(send.payload).toMatchObject({ conversationId: A, body: 'Room 4 is ready' });
    const stored = { ...message(2, me.id, (send.payload as { id: string }).id), body: 'Room 4 is ready' };

    socket.fire('message.new', { message: stored }); // echo first
    send.answer({ ok: true, message: stored }); // then the ack
    await settle();

    const state = client.getState();
    expect(state.outbox).toEqual([]);
    expect(state.threads[A]?.messages.map((m) => m.seq)).toEqual([1, 2]);
    expect(state.conversations[A]).toMatchObject({ lastSeq: 2, unread: 0, lastMessage: { id: stored.id } });
    client.stop();
  });

  it('after a drop, syncs first and does not resend what the server already stored', async () => {
    const { socket, client } = await connectedClient();
    client.setActive(A);
    await settle();
    client.send(A, 'during the drop');
    const send = socket.take('message.send');
    const id = (send.payload as { id: string }).id;
    socket.down();
    await settle();
    expect(client.getState().connection).toBe('reconnecting');
    expect(client.getState().outbox[0]?.status).toBe('sending');

    socket.up();
    await settle();
    const sync = socket.take('chat.sync');
    expect(sync.payload).toEqual({ cursors: { [A]: 1 } });
    expect(socket.count('message.send')).toBe(0); // waits for the sync
    sync.answer({ ok: true, conversations: [conversation(2, 0)], messages: [{ ...message(2, me.id, id), body: 'during the drop' }], truncated: [] });
    await settle();
    await settle();

    expect(socket.count('message.send')).toBe(0);
    expect(client.getState().outbox).toEqual([]);
    expect(client.getState().threads[A]?.messages.map((m) => m.id)).toContain(id);
    client.stop();
  });

  it('resends the same id after a drop when the server did not store it', async () => {
    const { socket, client } = await connectedClient();
    client.send(A, 'hello');
    const first = socket.take('message.send');
    socket.down();
    socket.up();
    await settle();
    socket.take('chat.sync').answer({ ok: true, conversations: [], messages: [], truncated: [] });
    await settle();
    await settle();
    const again = socket.take('message.send');
    expect(again.payload).toEqual(first.payload);
    client.stop();
  });

  it('marks the open conversation read when a message arrives, and keeps it read', async () => {
    const { socket, client } = await connectedClient();
    client.setActive(A);
    await settle();
    socket.fire('message.new', { message: message(2, peer.id) });
    const read = socket.take('conversation.read');
    expect(read.payload).toEqual({ conversationId: A, seq: 2 });
    expect(client.getState().conversations[A]?.unread).toBe(0);

    // A list fetched before the server took the mark must not bring the badge back.
    server.conversations = [conversation(2, 1)];
    client.reloadList();
    await settle();
    expect(client.getState().conversations[A]?.unread).toBe(0);
    read.answer({ ok: true, unread: 0 });
    client.stop();
  });

  it('counts unread while the conversation is not on screen', async () => {
    const { socket, client } = await connectedClient();
    socket.fire('message.new', { message: message(2, peer.id) });
    socket.fire('message.new', { message: message(2, peer.id) }); // a duplicate event
    expect(client.getState().conversations[A]?.unread).toBe(1);
    expect(socket.count('conversation.read')).toBe(0);
    client.stop();
  });

  it('reports the end of the session and stops', async () => {
    const { socket, client } = await connectedClient();
    const ended = vi.fn();
    client.onSessionEnded(ended);
    socket.fire('session.ended', { reason: 'deactivated' });
    expect(ended).toHaveBeenCalledWith('deactivated');
    // The socket is shared: the client takes its own listeners off and leaves the socket to its owner.
    expect(socket.listenerCount()).toBe(0);
  });

  it('catches up when the shared socket was already connected before it started', async () => {
    const socket = new FakeSocket();
    socket.connected = true;
    const client = new ChatClient({ me, socket: socket as unknown as ChatSocket });
    client.start();
    await settle();
    expect(client.getState().connection).toBe('connected');
    expect(socket.count('chat.sync')).toBe(1);
    client.stop();
  });
});
