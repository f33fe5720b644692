import { LoginRequest, type MeResponse } from '@parley/protocol';
import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../../context.ts';
import { AppError, parse } from '../../lib/errors.ts';
import { DUMMY_HASH_PROMISE, verifyPassword } from '../../lib/password.ts';
import { FailureLimiter } from '../../lib/rate-limit.ts';
import { SESSION_COOKIE } from './cookie.ts';
import { requireSession, sessionOf } from './guards.ts';

const MINUTE = 60_000;

export const authRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  // See docs/decisions/002-sign-in-throttling.md for why three keys.
  const byPair = new FailureLimiter(5, 5 * MINUTE);
  const byAccount = new FailureLimiter(20, 5 * MINUTE);
  const byAddress = new FailureLimiter(50, 15 * MINUTE);

  app.post('/api/auth/login', async (req, reply) => {
    const body = parse(LoginRequest, req.body, 'sign-in');
    const keys = { pair: `${body.email}|${req.ip}`, account: body.email, address: req.ip };
    const waitMs = Math.max(byPair.blockedFor(keys.pair), byAccount.blockedFor(keys.account), byAddress.blockedFor(keys.address));
    if (waitMs > 0) {
      const s = Math.ceil(waitMs / 1000);
      req.log.warn({ email: body.email, ip: req.ip }, 'sign-in throttled');
      throw new AppError('rate_limited', `Too many failed sign-in attempts. Try again in ${s} seconds.`, undefined, s);
    }
    const row = await ctx.users.byEmail(body.email);
    const ok = await verifyPassword(body.password, row?.password_hash ?? (await DUMMY_HASH_PROMISE));
    if (!row || !ok) {
      byPair.fail(keys.pair);
      byAccount.fail(keys.account);
      byAddress.fail(keys.address);
      req.log.info({ email: body.email, ip: req.ip }, 'sign-in failed');
      throw new AppError('unauthenticated', 'Email or password is incorrect');
    }
    if (row.active !== 1) throw new AppError('forbidden', 'This account has been deactivated. Ask an administrator.');
    byPair.reset(keys.pair);
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
      user: { id: user.id, name: user.name, email: user.email, role: user.role as MeResponse['user']['role'], active: true, online: ctx.realtime.isOnline(user.id) },
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
    return { user: { ...user, online: ctx.realtime.isOnline(user.id) } };
  });
};
