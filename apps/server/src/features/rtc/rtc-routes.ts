import type { RtcConfigResponse } from '@parley/protocol';
import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../../context.ts';
import { requireSession, sessionOf } from '../auth/guards.ts';
import { rtcConfigFor } from './ice-config.ts';

export const rtcRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.get('/api/rtc-config', { preHandler: requireSession(ctx) }, async (req, reply): Promise<RtcConfigResponse> => {
    // Credentials are personal and short-lived: no shared cache may keep them.
    void reply.header('cache-control', 'no-store');
    const userId = sessionOf(req).user.id;
    const managed = ctx.managedTurn;
    const config = managed
      ? rtcConfigFor({ ...ctx.config.ice, turnSecret: managed.secret }, userId, Date.now(), managed.urlsFor(req.hostname))
      : rtcConfigFor(ctx.config.ice, userId);
    if (config.iceServers.some((s) => s.credential !== undefined)) ctx.metrics.turnCredentialsIssued();
    return config;
  });
};
