import { LoginRequest, type MeResponse } from '@parley/protocol';
import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../../context.ts';
import { AppError, parse } from '../../lib/errors.ts';
import { DUMMY_HASH_PROMISE, verifyPassword } from '../../lib/password.ts';
import { SESSION_COOKIE } from './cookie.ts';
import { requireSession, sessionOf } from './guards.ts';
import { SignInGuard } from './sign-in-guard.ts';

export const authRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const guard = new SignInGuard(ctx.limiters, ctx.config.signIn);

  app.post('/api/auth/login', async (req, reply) => {
    const body = parse(LoginRequest, req.body, 'sign-in');
    const row = await ctx.users.byEmail(body.email);
    let ok: boolean;
    try {
      ok = await guard.attempt(body.email, req.ip, async () => (await verifyPassword(body.password, row?.password_hash ?? (await DUMMY_HASH_PROMISE))) && !!row);
    } catch (err) {
      if (err instanceof AppError && err.code === 'rate_limited') req.log.warn({ email: body.email, ip: req.ip }, 'sign-in throttled');
      throw err;
    }
    if (!row || !ok) {
      req.log.info({ email: body.email, ip: req.ip }, 'sign-in failed');
      throw new AppError('unauthenticated', 'Email or password is incorrect');
    }
    if (row.active !== 1) throw new AppError('forbidden', 'This account has been deactivated. Ask an administrator.');
    const { token, session } = await ctx.sessions.create(row.id);
    reply.setCookie(SESSION_COOKIE, token, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: req.protocol === 'https',
      expires: new Date(session.expiresAt),
    });
    req.log.info({ userId: row.id }, 'signed in');
    const user = (await ctx.users.byId(row.id))!;
    const res: MeResponse = {
      user: { id: user.id, name: user.name, email: user.email, role: user.role as MeResponse['user']['role'], active: true, online: await ctx.realtime.isOnline(user.id) },
    };
    return res;
  });

  app.post('/api/auth/logout', { preHandler: requireSession(ctx) }, async (req, reply) => {
    const session = sessionOf(req);
    await ctx.sessions.delete(session.id);
    ctx.realtime.endSession(session.id, 'signed_out');
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    req.log.info({ userId: session.user.id }, 'signed out');
    return reply.code(204).send();
  });

  app.get('/api/me', { preHandler: requireSession(ctx) }, async (req): Promise<MeResponse> => {
    const { user } = sessionOf(req);
    return { user: { ...user, online: await ctx.realtime.isOnline(user.id) } };
  });
};
