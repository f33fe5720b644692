import {
  ConversationParams,
  MessagesQuery,
  OpenConversationRequest,
  type Conversation,
  type ConversationResponse,
  type ConversationsResponse,
  type MessagesResponse,
} from '@parley/protocol';
import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../../context.ts';
import { AppError, parse } from '../../lib/errors.ts';
import { requireSession, sessionOf } from '../auth/guards.ts';
import type { ConversationView } from './chat-store.ts';

export async function withPresence(ctx: AppContext, list: ConversationView[]): Promise<Conversation[]> {
  const online = await ctx.realtime.onlineOf(list.map((c) => c.peer.id));
  return list.map((c) => ({ ...c, peer: { ...c.peer, online: online.has(c.peer.id) } }));
}

export const chatRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const auth = requireSession(ctx);

  app.get('/api/conversations', { preHandler: auth }, async (req): Promise<ConversationsResponse> => {
    const list = await ctx.chat.list(sessionOf(req).user.id);
    return { conversations: await withPresence(ctx, list) };
  });

  app.post('/api/conversations', { preHandler: auth }, async (req): Promise<ConversationResponse> => {
    const { userId } = parse(OpenConversationRequest, req.body, 'conversation');
    const me = sessionOf(req).user;
    const peer = await ctx.users.byId(userId);
    if (!peer) throw new AppError('not_found', 'No such user');
    if (peer.active !== 1) throw new AppError('recipient_inactive', `${peer.name}'s account is deactivated`);
    const id = await ctx.chat.open(me.id, userId);
    return { conversation: (await withPresence(ctx, [await ctx.chat.get(me.id, id)]))[0]! };
  });

  app.get('/api/conversations/:id/messages', { preHandler: auth }, async (req): Promise<MessagesResponse> => {
    const { id } = parse(ConversationParams, req.params, 'conversation id');
    const page = parse(MessagesQuery, req.query, 'page');
    return ctx.chat.messages(sessionOf(req).user.id, id, page);
  });
};
