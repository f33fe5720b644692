import { MarkRead, SendMessage, SyncRequest } from '@parley/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { AppContext } from '../../context.ts';
import { withPresence } from './chat-routes.ts';

export function registerChatSocket(ctx: AppContext, log: FastifyBaseLogger): void {
  ctx.realtime.on('message.send', SendMessage, async (socket, input) => {
    const { userId, name } = socket.data;
    const { message, created, peer } = await ctx.chat.send(userId, input);
    // Every other device of both people, on every node; the sending socket has the message in its
    // acknowledgement (one frame fewer per message). They dedupe by id. A resend (same id) is fanned
    // out again: the node that stored the first copy may have died before it did.
    ctx.realtime.toUsers(userId, peer.id).except(socket.id).emit('message.new', { message });
    if (created) {
      ctx.metrics.messageStored();
      ctx.push.newMessage({ conversationId: message.conversationId, toUserId: peer.id, fromName: name, body: message.body });
      log.info({ conversationId: message.conversationId, seq: message.seq, from: userId, to: peer.id }, 'message stored');
    }
    return { message };
  });

  ctx.realtime.on('conversation.read', MarkRead, async (socket, { conversationId, seq }) => {
    const { userId } = socket.data;
    const r = await ctx.chat.markRead(userId, conversationId, seq);
    ctx.realtime.toUsers(userId).emit('conversation.read', { conversationId, seq: r.seq, unread: r.unread });
    return { unread: r.unread };
  });

  ctx.realtime.on('chat.sync', SyncRequest, async (socket, { cursors }) => {
    const r = await ctx.chat.sync(socket.data.userId, cursors);
    return { ...r, conversations: await withPresence(ctx, r.conversations) };
  });
}
