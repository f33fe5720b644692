import { CallIdParams, PushSubscriptionRequest, PushUnsubscribeRequest, type CallRingingStatus, type PushConfigResponse } from '@parley/protocol';
import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../../context.ts';
import { AppError, parse } from '../../lib/errors.ts';
import { requireSession, sessionOf } from '../auth/guards.ts';
import { resolvedEndpointProblem } from './endpoints.ts';
import type { PushService } from './push-service.ts';

/**
 * What the service worker may do to a call without opening the app: ask whether it still rings,
 * and decline it. Implemented by the call feature (app.ts wires it).
 */
export interface RingingCalls {
  /** Whether the call rings for this person now, and if it does not, whether it was a missed call for them. */
  ringingStatus(userId: string, callId: string): Promise<CallRingingStatus>;
  /** Same outcome as call.reject 'declined' from one of the person's devices; throws AppError like it. */
  decline(userId: string, sessionId: string, callId: string): Promise<void>;
}

export const pushRoutes: FastifyPluginAsync<{ ctx: AppContext; push: PushService; calls: RingingCalls }> = async (app, { ctx, push, calls }) => {
  const auth = requireSession(ctx);

  app.get('/api/push/config', { preHandler: auth }, async (req): Promise<PushConfigResponse> => {
    return { publicKey: push.publicKey, subscribed: await push.store.hasForSession(sessionOf(req).id) };
  });

  app.post('/api/push/subscriptions', { preHandler: auth }, async (req, reply) => {
    const sub = parse(PushSubscriptionRequest, req.body, 'push subscription');
    const problem = await resolvedEndpointProblem(sub.endpoint, ctx.config.push.allowLocalEndpoints);
    if (problem) throw new AppError('bad_request', `Invalid push subscription: ${problem}`, { endpoint: problem });
    const session = sessionOf(req);
    await push.store.save(session.id, session.user.id, sub);
    req.log.info({ userId: session.user.id, host: new URL(sub.endpoint).host }, 'push subscription stored');
    return reply.code(204).send();
  });

  app.delete('/api/push/subscriptions', { preHandler: auth }, async (req, reply) => {
    const { endpoint } = parse(PushUnsubscribeRequest, req.body, 'push subscription');
    const session = sessionOf(req);
    const removed = await push.store.removeForSession(session.id, endpoint);
    req.log.info({ userId: session.user.id, removed }, 'push subscription removed');
    return reply.code(204).send();
  });

  app.get('/api/calls/:id/ringing', { preHandler: auth }, async (req): Promise<CallRingingStatus> => {
    const { id } = parse(CallIdParams, req.params, 'call id');
    return calls.ringingStatus(sessionOf(req).user.id, id);
  });

  // The notification's "Decline": the service worker posts it with the session cookie.
  app.post('/api/calls/:id/decline', { preHandler: auth }, async (req, reply) => {
    const { id } = parse(CallIdParams, req.params, 'call id');
    const session = sessionOf(req);
    await calls.decline(session.user.id, session.id, id);
    return reply.code(204).send();
  });
};
