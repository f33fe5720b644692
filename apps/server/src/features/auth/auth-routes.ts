import { ChangePasswordRequest, LoginRequest, type MeResponse } from '@parley/protocol';
import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../../context.ts';
import { AppError, parse } from '../../lib/errors.ts';
import { assertPasswordAllowed } from '../../lib/password-policy.ts';
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
    // The session rotates: whatever session cookie this browser had (planted or left over) ends
    // here, and the new one is a fresh random token, never a value the client chose or knew.
    const previous = await ctx.sessions.deleteByToken(req.cookies[SESSION_COOKIE]);
    if (previous) ctx.realtime.endSession(previous, 'signed_out');
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

  // A person changes their own password: the current one is checked through the same guard as a
  // sign-in (a stolen session cannot guess it faster), and every other session of theirs ends.
  app.post('/api/auth/password', { preHandler: requireSession(ctx) }, async (req, reply) => {
    const session = sessionOf(req);
    const body = parse(ChangePasswordRequest, req.body, 'password change');
    assertPasswordAllowed(body.newPassword, 'newPassword', 'password change');
    const row = await ctx.users.byEmail(session.user.email);
    const ok = await guard.attempt(session.user.email, req.ip, async () => !!row && (await verifyPassword(body.currentPassword, row.password_hash)));
    if (!ok || !row) throw new AppError('unauthenticated', 'The current password is incorrect');
    await ctx.users.setPassword(row.id, body.newPassword);
    await ctx.sessions.deleteForUserExcept(row.id, session.id);
    ctx.realtime.endUserExceptSession(row.id, session.id, 'signed_out');
    req.log.info({ userId: row.id }, 'password changed');
    return reply.code(204).send();
  });

  app.post('/api/auth/logout', { preHandler: requireSession(ctx) }, async (req, reply) => {
    const session = sessionOf(req);
    await ctx.sessions.delete(session.id);
    ctx.realtime.endSession(session.id, 'signed_out');
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    req.log.info({ userId: session.user.id }, 'signed out');
    return reply.code(204).send();
  });

  // Every session of the person ends, this one too, and every socket of theirs on every node
  // (the user's socket.io room goes through the adapter); push subscriptions go with the sessions.
  app.post('/api/auth/logout-everywhere', { preHandler: requireSession(ctx) }, async (req, reply) => {
    const { user } = sessionOf(req);
    await ctx.sessions.deleteForUser(user.id);
    ctx.realtime.endUser(user.id, 'signed_out');
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    req.log.info({ userId: user.id }, 'signed out everywhere');
    return reply.code(204).send();
  });

  app.get('/api/me', { preHandler: requireSession(ctx) }, async (req): Promise<MeResponse> => {
    const { user } = sessionOf(req);
    return { user: { ...user, online: await ctx.realtime.isOnline(user.id) } };
  });
};
