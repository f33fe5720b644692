import type { FastifyInstance } from 'fastify';
import { sessionKey } from '../features/auth/cookie.ts';
import { AppError } from './errors.ts';
import { retryAfterS, type LimiterFactory } from './limiter.ts';

/**
 * A budget per minute on every REST request under /api: per session cookie, and per client address
 * (which also bounds requests with made-up cookies). Over it: 429 `rate_limited` with Retry-After.
 * Runs before routing work (onRequest), so a flood costs a counter, not a database query.
 */
export function restLimits(app: FastifyInstance, limiters: LimiterFactory, limits: { perSession: number; perAddress: number }): void {
  const bySession = limiters({ name: 'rest_session', points: limits.perSession, durationS: 60 });
  const byAddress = limiters({ name: 'rest_address', points: limits.perAddress, durationS: 60 });
  app.addHook('onRequest', async (req) => {
    if (!req.url.startsWith('/api/')) return;
    const address = await byAddress.consume(req.ip);
    if (!address.allowed) throw limited(address.retryAfterMs);
    const key = sessionKey(req.headers.cookie);
    if (!key) return;
    const session = await bySession.consume(key);
    if (!session.allowed) throw limited(session.retryAfterMs);
  });
}

function limited(ms: number): AppError {
  const s = retryAfterS(ms);
  return new AppError('rate_limited', `Too many requests. Try again in ${s} seconds.`, undefined, s);
}
