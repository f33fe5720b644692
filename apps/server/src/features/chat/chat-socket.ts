import { MarkRead, SendMessage, SyncRequest } from '@parley/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { AppContext } from '../../context.ts';
import { onEvent } from '../../realtime/on-event.ts';
import { withPresence } from './chat-routes.ts';

export function registerChatSocket(ctx: AppContext, log: FastifyBaseLogger): void {
  ctx.realtime.handle((socket) => {
    const me = socket.data.user;

    onEvent(socket, log, 'message.send', SendMessage, async (input) => {
      const { message, created, peer } = await ctx.chat.send(me.id, input);
      // Every device of both people, the sending one included: they dedupe by id. A resend (same id)
      // is fanned out again: the node that stored the first copy may have died before it did.
      ctx.realtime.toUsers(me.id, peer.id).emit('message.new', { message });
      if (created) {
        ctx.metrics.messages.inc();
        ctx.push.newMessage({ conversationId: message.conversationId, toUserId: peer.id, fromName: me.name, body: message.body });
        log.info({ conversationId: message.conversationId, seq: message.seq, from: me.id, to: peer.id }, 'message stored');
      }
      return { message };
    });

    onEvent(socket, log, 'conversation.read', MarkRead, async ({ conversationId, seq }) => {
      const r = await ctx.chat.markRead(me.id, conversationId, seq);
      ctx.realtime.toUsers(me.id).emit('conversation.read', { conversationId, seq: r.seq, unread: r.unread });
      return { unread: r.unread };
    });

    onEvent(socket, log, 'chat.sync', SyncRequest, async ({ cursors }) => {
      const r = await ctx.chat.sync(me.id, cursors);
      return { ...r, conversations: await withPresence(ctx, r.conversations) };
    });
  });
}
