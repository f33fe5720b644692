import type { Role } from '@parley/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import { AppError } from '../../lib/errors.ts';
import { SESSION_COOKIE } from './cookie.ts';
import type { Session } from './sessions-store.ts';

declare module 'fastify' {
  interface FastifyRequest {
    session?: Session;
  }
}

/** preHandler: 401 without a live session, 403 when `roles` is given and the user has none of them. */
export function requireSession(ctx: AppContext, roles?: Role[]) {
  return async (req: FastifyRequest, _reply: FastifyReply) => {
    const session = await ctx.sessions.resolve(req.cookies[SESSION_COOKIE]);
    if (!session) throw new AppError('unauthenticated', 'Sign in first');
    if (roles && !roles.includes(session.user.role)) throw new AppError('forbidden', `Only ${roles.join(' or ')} may do this`);
    req.session = session;
  };
}

export function sessionOf(req: FastifyRequest): Session {
  if (!req.session) throw new AppError('unauthenticated', 'Sign in first');
  return req.session;
}
