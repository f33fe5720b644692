import {
  LIMITS,
  Message,
  PresenceEvent,
  PROTOCOL_VERSION,
  ReadEvent,
  SessionEndedEvent,
  SyncResult,
  type Conversation,
  type PublicUser,
  type SendMessage,
  type ServerToClientEvents,
} from '@parley/protocol';
import { errorMessage, RequestError } from '../../lib/http.ts';
import { checkSession, fetchConversations, fetchMessages, openConversation } from './chatApi.ts';
import { applyMessage, sortConversations, upsertConversation } from './conversations.ts';
import { firstHole, highestSeq, lowestSeq, mergeMessages } from './messages.ts';
import { Outbox, type SendOutcome } from './outbox.ts';
import { PresenceWatch } from './presenceWatch.ts';
import type { ChatClientOptions, ChatSocket, ChatState, SessionEndReason, Thread } from './chatState.ts';

export type { ChatClientOptions, ChatSocket, ChatState, ConnectionState, SessionEndReason, Thread } from './chatState.ts';
export { isOnline } from './chatState.ts';

interface UntypedEmitter {
  on(event: string, listener: (payload: unknown) => void): unknown;
  off(event: string, listener: (payload: unknown) => void): unknown;
}

const ACK_TIMEOUT_MS = 10_000;
const PAGE_SIZE = 50;
const RECONNECT_DELAY_MS = 2_000;

const EMPTY_THREAD: Thread = { messages: [], hasMore: false, status: 'loading', loadingEarlier: false, error: null };


/**
 * The chat as this device holds it: conversation summaries, loaded threads, the outbox, presence.
 * Listens on the app's shared socket, which it does not own. React subscribes through
 * `subscribe`/`getState` (useSyncExternalStore); every change produces a new state object, and
 * nothing here imports React.
 */
export class ChatClient {
  readonly #me: PublicUser;
  readonly #socket: ChatSocket;
  readonly #sessionEndedListeners = new Set<(reason: SessionEndReason) => void>();
  readonly #outbox: Outbox;
  readonly #listeners = new Set<() => void>();
  #state: ChatState = {
    connection: 'connecting',
    incompatible: false,
    listStatus: 'loading',
    listError: null,
    conversations: {},
    openedAt: {},
    threads: {},
    outbox: [],
    presence: {},
  };
  #running = false;
  /** Removes the listeners this client put on the shared socket. */
  #offs: (() => void)[] = [];
  #active: string | null = null;
  #visible = true;
  /**
   * Highest seq this device marked read, per conversation (dropped again if the mark failed):
   * sends each mark once, and keeps a summary fetched before the mark from bringing back the badge.
   */
  readonly #readSent = new Map<string, number>();
  readonly #catchingUp = new Set<string>();
  #listLoading: Promise<void> | null = null;
  #listAgain = false;
  #reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  /** Follows the presence of the people on screen (conversation partners, search results). */
  readonly #presence: PresenceWatch;

  constructor(options: ChatClientOptions) {
    this.#me = options.me;
    // WebSocket only: browsers send no Origin header on same-origin polling GETs, which the
    // server's origin check (rightly) refuses for sockets; a WebSocket handshake always carries it.
    this.#socket = options.socket;
    this.#outbox = new Outbox({
      transport: (payload) => this.#sendOverSocket(payload),
      onChange: (outbox) => this.#set({ outbox }),
      onStored: (message) => this.#receive([message]),
    });
    this.#presence = new PresenceWatch(
      (event, userIds) => this.#socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, { userIds }),
      (online) => this.#set((s) => ({ presence: { ...s.presence, ...online } })),
    );
  }

  // ---- for React ----

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  readonly getState = (): ChatState => this.#state;

  /** The server ended this session (signed out elsewhere, account deactivated); the client has stopped. */
  onSessionEnded(listener: (reason: SessionEndReason) => void): () => void {
    this.#sessionEndedListeners.add(listener);
    return () => this.#sessionEndedListeners.delete(listener);
  }

  get me(): PublicUser {
    return this.#me;
  }

  // ---- lifecycle ----

  /** Starts listening. Safe to call again after stop() (React runs effects twice in development). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    if (this.#state.connection === 'connected') this.#set({ connection: 'connecting' });
    const socket = this.#socket;
    this.#listen('connect', () => void this.#onConnect());
    this.#listen('disconnect', (reason) => this.#onDisconnect(String(reason)));
    this.#listen('connect_error', () => this.#onConnectError());
    // Payloads are untrusted until parsed: every listener takes `unknown`.
    this.#listen('hello', (e) => {
      if ((e as { protocolVersion?: unknown } | undefined)?.protocolVersion !== PROTOCOL_VERSION) this.#set({ incompatible: true });
    });
    this.#listen('message.new', (e) => {
      const parsed = Message.safeParse((e as { message?: unknown } | undefined)?.message);
      if (parsed.success) this.#receive([parsed.data]);
    });
    this.#listen('conversation.read', (e) => {
      const parsed = ReadEvent.safeParse(e);
      if (parsed.success) this.#applyRead(parsed.data);
    });
    this.#listen('presence', (e) => {
      const parsed = PresenceEvent.safeParse(e);
      if (parsed.success) this.#set((s) => ({ presence: { ...s.presence, [parsed.data.userId]: parsed.data.online } }));
    });
    this.#listen('session.ended', (e) => {
      const parsed = SessionEndedEvent.safeParse(e);
      this.#endSession(parsed.success ? parsed.data.reason : 'signed_out');
    });
    void this.#loadList();
    // The socket's owner (useRealtimeSocket) connects it, possibly before this client listened.
    if (socket.connected) void this.#onConnect();
  }

  /** Stops listening. The socket stays up for the other features; its owner disconnects it. */
  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    this.#outbox.setConnected(false);
    this.#presence.disconnected();
    for (const off of this.#offs.splice(0)) off();
  }

  #listen(event: 'connect' | 'disconnect' | 'connect_error' | keyof ServerToClientEvents, listener: (payload: unknown) => void): void {
    // socket.io's typed `on` is generic per event; one untyped view of it keeps the bookkeeping simple.
    const socket = this.#socket as unknown as UntypedEmitter;
    socket.on(event, listener);
    this.#offs.push(() => socket.off(event, listener));
  }

  // ---- what the UI asks for ----

  /** The conversation that is on screen; its messages are marked read as they arrive. */
  setActive(conversationId: string | null): void {
    this.#active = conversationId;
    if (conversationId) {
      this.loadThread(conversationId);
      this.#markReadIfDue();
    }
  }

  /** Whether the page is visible; nothing is marked read while the tab is hidden. */
  setVisible(visible: boolean): void {
    this.#visible = visible;
    this.#markReadIfDue();
  }

  /** Opens (or finds) the conversation with a person; resolves to its id. */
  async openWith(userId: string): Promise<string> {
    const conversation = await openConversation(userId);
    this.#set((s) => ({
      conversations: { ...s.conversations, [conversation.id]: this.#upsert(s.conversations[conversation.id], conversation) },
      openedAt: s.openedAt[conversation.id] ? s.openedAt : { ...s.openedAt, [conversation.id]: Date.now() },
    }));
    return conversation.id;
  }

  /** Loads the newest page of a conversation once (again after an error). */
  loadThread(conversationId: string): void {
    const held = this.#state.threads[conversationId];
    if (held && held.status !== 'error') return;
    this.#patchThread(conversationId, { status: 'loading', error: null });
    void this.#loadNewest(conversationId);
  }

  async loadEarlier(conversationId: string): Promise<void> {
    const thread = this.#state.threads[conversationId];
    const before = thread ? lowestSeq(thread.messages) : null;
    if (!thread || thread.loadingEarlier || !thread.hasMore || before === null) return;
    this.#patchThread(conversationId, { loadingEarlier: true, error: null });
    try {
      const page = await fetchMessages(conversationId, { before }, PAGE_SIZE);
      this.#patchThread(conversationId, (t) => ({
        messages: mergeMessages(t.messages, page.messages),
        hasMore: page.hasMore,
        loadingEarlier: false,
      }));
    } catch (err) {
      this.#patchThread(conversationId, { loadingEarlier: false, error: errorMessage(err) });
    }
  }

  /** Writes a message; it shows as sending at once and is delivered exactly once. */
  send(conversationId: string, body: string): void {
    const trimmed = body.trim();
    if (trimmed.length === 0 || trimmed.length > LIMITS.messageBodyMax) return;
    this.#outbox.enqueue(conversationId, trimmed);
  }

  retry(messageId: string): void {
    this.#outbox.retry(messageId);
  }

  discard(messageId: string): void {
    this.#outbox.discard(messageId);
  }

  reloadList(): void {
    void this.#loadList();
  }

  /** People shown outside the conversation list (search results): their presence is followed too. */
  watchPeople(userIds: readonly string[]): void {
    this.#presence.set('people', userIds);
  }

  // ---- socket ----

  async #onConnect(): Promise<void> {
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    // Presence heard before the drop may be stale; fresh summaries and events replace it.
    this.#set({ connection: 'connected', presence: {} });
    this.#presence.connected();
    const listed = this.#loadList();
    await this.#sync();
    await listed;
    if (!this.#running || !this.#socket.connected) return;
    // After the sync: anything stored whose ack was lost has settled and is not sent again.
    this.#outbox.setConnected(true);
    this.#markReadIfDue();
  }

  #onDisconnect(reason: string): void {
    this.#outbox.setConnected(false);
    this.#presence.disconnected();
    if (!this.#running) return;
    this.#set({ connection: 'reconnecting' });
    // socket.io reconnects by itself except when the server closed the socket on purpose.
    if (reason === 'io server disconnect') void this.#reconnectIfSessionHolds();
  }

  #onConnectError(): void {
    if (!this.#running) return;
    this.#set({ connection: 'reconnecting' });
    // `active` is false when the server refused the handshake (e.g. no session): no auto-retry.
    if (!this.#socket.active) void this.#reconnectIfSessionHolds();
  }

  async #reconnectIfSessionHolds(): Promise<void> {
    try {
      await checkSession();
    } catch (err) {
      if (err instanceof RequestError && err.code === 'unauthenticated') {
        this.#endSession('unauthenticated');
        return;
      }
    }
    if (!this.#running || this.#reconnectTimer) return;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      if (this.#running && !this.#socket.connected) this.#socket.connect();
    }, RECONNECT_DELAY_MS);
  }

  #endSession(reason: SessionEndReason): void {
    if (!this.#running) return;
    this.stop();
    for (const listener of this.#sessionEndedListeners) listener(reason);
  }

  async #sendOverSocket(payload: SendMessage): Promise<SendOutcome> {
    try {
      const res = await this.#socket.timeout(ACK_TIMEOUT_MS).emitWithAck('message.send', payload);
      if (!res.ok) return { kind: 'rejected', error: res.error };
      const message = Message.safeParse(res.message);
      if (message.success) return { kind: 'stored', message: message.data };
      return { kind: 'rejected', error: { code: 'internal', message: 'The server sent an unexpected answer.' } };
    } catch {
      return { kind: 'lost', reason: this.#socket.connected ? 'timeout' : 'disconnected' };
    }
  }

  /** Asks for everything newer than what is held, after every (re)connect. */
  async #sync(): Promise<void> {
    const s = this.#state;
    const cursors: Record<string, number> = {};
    for (const conversation of sortConversations(Object.values(s.conversations), s.openedAt).slice(0, LIMITS.syncCursorsMax)) {
      const thread = s.threads[conversation.id];
      cursors[conversation.id] = Math.max(conversation.lastSeq, thread ? highestSeq(thread.messages) : 0);
    }
    let result: SyncResult;
    try {
      const res = await this.#socket.timeout(ACK_TIMEOUT_MS).emitWithAck('chat.sync', { cursors });
      if (!res.ok) return;
      const parsed = SyncResult.safeParse(res);
      if (!parsed.success) return;
      result = parsed.data;
    } catch {
      return; // Timed out or dropped again; the next connect syncs.
    }
    if (!this.#running) return;
    this.#receive(result.messages);
    this.#set((state) => {
      const conversations = { ...state.conversations };
      for (const conversation of result.conversations) {
        conversations[conversation.id] = this.#upsert(conversations[conversation.id], conversation);
      }
      return { conversations };
    });
    // More was missed than one page: the held thread would have a hole, so take the newest page afresh.
    for (const id of result.truncated) {
      if (this.#state.threads[id]) {
        this.#patchThread(id, { messages: [], status: 'loading', error: null });
        void this.#loadNewest(id);
      }
    }
  }

  // ---- state changes ----

  /** Every stored message goes through here: page, live event, sync, ack. */
  #receive(messages: readonly Message[]): void {
    if (messages.length === 0 || !this.#running) return;
    for (const message of messages) this.#outbox.settle(message.id);
    let unknownConversation = false;
    const touched = new Set<string>();
    this.#set((s) => {
      const conversations = { ...s.conversations };
      const threads = { ...s.threads };
      for (const message of messages) {
        const conversation = conversations[message.conversationId];
        if (conversation) conversations[message.conversationId] = applyMessage(conversation, message, this.#me.id);
        else unknownConversation = true;
        const thread = threads[message.conversationId];
        // A thread never loaded stays unloaded: opening it fetches the newest page, which has these.
        if (thread) {
          threads[message.conversationId] = { ...thread, messages: mergeMessages(thread.messages, [message]) };
          touched.add(message.conversationId);
        }
      }
      return { conversations, threads };
    });
    // Someone started a conversation with us: its summary (peer, unread) comes from the list.
    if (unknownConversation) void this.#loadList();
    for (const id of touched) if (this.#state.threads[id]?.status === 'ready') void this.#fillHoles(id);
    this.#markReadIfDue();
  }

  /** A server summary, minus unread counts this device has already marked read. */
  #upsert(held: Conversation | undefined, incoming: Conversation): Conversation {
    const merged = upsertConversation(held, incoming);
    const readTo = this.#readSent.get(merged.id) ?? 0;
    return merged.unread > 0 && readTo >= merged.lastSeq ? { ...merged, unread: 0 } : merged;
  }

  #applyRead(e: ReadEvent): void {
    this.#set((s) => {
      const conversation = s.conversations[e.conversationId];
      if (!conversation) return {};
      return { conversations: { ...s.conversations, [e.conversationId]: { ...conversation, unread: e.unread } } };
    });
  }

  #markReadIfDue(): void {
    const id = this.#active;
    if (!id || !this.#visible || this.#state.connection !== 'connected' || !this.#running) return;
    const conversation = this.#state.conversations[id];
    if (!conversation || conversation.unread === 0) return;
    const seq = conversation.lastSeq;
    if ((this.#readSent.get(id) ?? -1) >= seq) return;
    this.#readSent.set(id, seq);
    this.#set((s) => {
      const current = s.conversations[id];
      return current ? { conversations: { ...s.conversations, [id]: { ...current, unread: 0 } } } : {};
    });
    this.#socket
      .timeout(ACK_TIMEOUT_MS)
      .emitWithAck('conversation.read', { conversationId: id, seq })
      .then((res) => {
        // The server's count wins unless another message has arrived since.
        if (res.ok && this.#state.conversations[id]?.lastSeq === seq) this.#applyRead({ conversationId: id, seq, unread: res.unread });
        if (!res.ok) this.#readSent.delete(id);
      })
      .catch(() => this.#readSent.delete(id));
  }

  async #loadList(): Promise<void> {
    // One request at a time; a request asked for meanwhile runs once after it.
    if (this.#listLoading) {
      this.#listAgain = true;
      return this.#listLoading;
    }
    this.#listLoading = (async () => {
      do {
        this.#listAgain = false;
        try {
          const list = await fetchConversations();
          if (!this.#running) return;
          this.#set((s) => {
            const conversations = { ...s.conversations };
            for (const conversation of list) conversations[conversation.id] = this.#upsert(conversations[conversation.id], conversation);
            return { conversations, listStatus: 'ready', listError: null };
          });
        } catch (err) {
          if (!this.#running) return;
          // Keep showing what is held; only an empty first load shows the error.
          this.#set({ listStatus: this.#state.listStatus === 'ready' ? 'ready' : 'error', listError: errorMessage(err) });
        }
      } while (this.#listAgain && this.#running);
    })().finally(() => {
      this.#listLoading = null;
    });
    await this.#listLoading;
    this.#markReadIfDue();
  }

  async #loadNewest(conversationId: string): Promise<void> {
    try {
      const page = await fetchMessages(conversationId, {}, PAGE_SIZE);
      this.#patchThread(conversationId, (t) => ({
        messages: mergeMessages(t.messages, page.messages),
        hasMore: page.hasMore,
        status: 'ready',
        error: null,
      }));
      for (const message of page.messages) this.#outbox.settle(message.id);
      void this.#fillHoles(conversationId);
    } catch (err) {
      this.#patchThread(conversationId, { status: 'error', error: errorMessage(err) });
    }
  }

  /** Fetches whatever is missing between held messages (a dropped live event). */
  async #fillHoles(conversationId: string): Promise<void> {
    if (this.#catchingUp.has(conversationId)) return;
    this.#catchingUp.add(conversationId);
    try {
      for (let round = 0; round < 10 && this.#running; round++) {
        const thread = this.#state.threads[conversationId];
        const after = thread ? firstHole(thread.messages) : null;
        if (after === null) return;
        const page = await fetchMessages(conversationId, { after }, LIMITS.pageSizeMax);
        const before = this.#state.threads[conversationId]?.messages;
        this.#patchThread(conversationId, (t) => ({ messages: mergeMessages(t.messages, page.messages) }));
        if (this.#state.threads[conversationId]?.messages === before) return; // No progress: stop.
      }
    } catch {
      // The next live message or reconnect tries again.
    } finally {
      this.#catchingUp.delete(conversationId);
    }
  }

  #patchThread(conversationId: string, patch: Partial<Thread> | ((thread: Thread) => Partial<Thread>)): void {
    this.#set((s) => {
      const thread = s.threads[conversationId] ?? EMPTY_THREAD;
      const changes = typeof patch === 'function' ? patch(thread) : patch;
      return { threads: { ...s.threads, [conversationId]: { ...thread, ...changes } } };
    });
  }

  #set(patch: Partial<ChatState> | ((state: ChatState) => Partial<ChatState>)): void {
    if (!this.#running) return;
    const changes = typeof patch === 'function' ? patch(this.#state) : patch;
    if (Object.keys(changes).length === 0) return;
    const before = this.#state.conversations;
    this.#state = { ...this.#state, ...changes };
    if (this.#state.conversations !== before) this.#presence.set('conversations', Object.values(this.#state.conversations).map((c) => c.peer.id));
    for (const listener of this.#listeners) listener();
  }
}
