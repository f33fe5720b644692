import {
  CreateUserRequest,
  ResetPasswordRequest,
  SearchUsersQuery,
  UpdateUserRequest,
  UserIdParams,
  type PublicUser,
  type UsersResponse,
} from '@parley/protocol';
import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../../context.ts';
import { AppError, parse } from '../../lib/errors.ts';
import { assertPasswordAllowed } from '../../lib/password-policy.ts';
import { requireSession, sessionOf } from '../auth/guards.ts';
import type { User } from './users-store.ts';

export const usersRoutes: FastifyPluginAsync<{ ctx: AppContext }> = async (app, { ctx }) => {
  const publicUsers = async (users: User[]): Promise<PublicUser[]> => {
    const online = await ctx.realtime.onlineOf(users.map((u) => u.id));
    return users.map((u) => ({ ...u, online: online.has(u.id) }));
  };
  const publicUser = async (u: User): Promise<PublicUser> => (await publicUsers([u]))[0]!;

  app.get('/api/users', { preHandler: requireSession(ctx) }, async (req): Promise<UsersResponse> => {
    const { q } = parse(SearchUsersQuery, req.query, 'search');
    const users = await ctx.users.search(q, sessionOf(req).user.id);
    return { users: await publicUsers(users) };
  });

  const admin = requireSession(ctx, ['admin']);

  app.get('/api/admin/users', { preHandler: admin }, async (): Promise<UsersResponse> => {
    return { users: await publicUsers(await ctx.users.list()) };
  });

  app.post('/api/admin/users', { preHandler: admin }, async (req, reply) => {
    const body = parse(CreateUserRequest, req.body, 'user');
    assertPasswordAllowed(body.password, 'password', 'user');
    const user = await ctx.users.create(body);
    req.log.info({ by: sessionOf(req).user.id, userId: user.id, role: user.role }, 'user created');
    return reply.code(201).send({ user: await publicUser(user) });
  });

  app.patch('/api/admin/users/:id', { preHandler: admin }, async (req) => {
    const { id } = parse(UserIdParams, req.params, 'user id');
    const patch = parse(UpdateUserRequest, req.body, 'user update');
    const me = sessionOf(req).user;
    if (id === me.id && (patch.active === false || (patch.role !== undefined && patch.role !== 'admin'))) {
      // An organisation must not lose its last way into the admin page by accident.
      throw new AppError('forbidden', 'You cannot deactivate yourself or remove your own admin role');
    }
    const user = await ctx.users.update(id, patch);
    if (patch.active === false) {
      await ctx.sessions.deleteForUser(id);
      ctx.realtime.endUser(id, 'deactivated');
    }
    req.log.info({ by: me.id, userId: id, patch }, 'user updated');
    return { user: await publicUser(user) };
  });

  app.post('/api/admin/users/:id/password', { preHandler: admin }, async (req, reply) => {
    const { id } = parse(UserIdParams, req.params, 'user id');
    const { password } = parse(ResetPasswordRequest, req.body, 'password reset');
    assertPasswordAllowed(password, 'password', 'password reset');
    await ctx.users.setPassword(id, password);
    // A reset password means the old one may be known: sign that person out everywhere.
    if (id !== sessionOf(req).user.id) {
      await ctx.sessions.deleteForUser(id);
      ctx.realtime.endUser(id, 'signed_out');
    }
    req.log.info({ by: sessionOf(req).user.id, userId: id }, 'password reset');
    return reply.code(204).send();
  });
};
