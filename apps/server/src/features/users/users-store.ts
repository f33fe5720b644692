import { randomUUID } from 'node:crypto';
import type { CreateUserRequest, Role } from '@parley/protocol';
import { sql, type Selectable } from 'kysely';
import type { Db } from '../../db/database.ts';
import { prepared } from '../../db/prepared.ts';
import type { UsersTable } from '../../db/schema.ts';
import { AppError } from '../../lib/errors.ts';
import { hashPassword } from '../../lib/password.ts';

export type UserRow = Selectable<UsersTable>;

/** Read for every call invited (db/prepared.ts). */
const BY_ID = prepared(1, (db: Db, id: string) => db.selectFrom('users').selectAll().where('id', '=', id));

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  active: boolean;
}

export function toUser(row: UserRow): User {
  return { id: row.id, email: row.email, name: row.name, role: row.role as Role, active: row.active === 1 };
}

/** Escapes LIKE wildcards so a search for "50%" finds "50%". */
function likePattern(q: string): string {
  return `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export class UsersStore {
  constructor(private readonly db: Db) {}

  async count(): Promise<number> {
    const r = await this.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async byId(id: string): Promise<UserRow | undefined> {
    return BY_ID.first(this.db, id);
  }

  async byEmail(email: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('email', '=', email.toLowerCase()).executeTakeFirst();
  }

  async create(input: CreateUserRequest): Promise<User> {
    const now = Date.now();
    const row: UserRow = {
      id: randomUUID(),
      email: input.email.toLowerCase(),
      name: input.name,
      role: input.role,
      password_hash: await hashPassword(input.password),
      active: 1,
      created_at: now,
      updated_at: now,
    };
    if (await this.byEmail(row.email)) throw new AppError('conflict', `A user with email ${row.email} already exists`);
    try {
      await this.db.insertInto('users').values(row).execute();
    } catch (err) {
      // A concurrent create with the same email lost the race to the unique index.
      if (await this.byEmail(row.email)) throw new AppError('conflict', `A user with email ${row.email} already exists`);
      throw err;
    }
    return toUser(row);
  }

  async update(id: string, patch: { name?: string; role?: Role; active?: boolean }): Promise<User> {
    const values: Partial<UserRow> = { updated_at: Date.now() };
    if (patch.name !== undefined) values.name = patch.name;
    if (patch.role !== undefined) values.role = patch.role;
    if (patch.active !== undefined) values.active = patch.active ? 1 : 0;
    const r = await this.db.updateTable('users').set(values).where('id', '=', id).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw new AppError('not_found', 'No such user');
    return toUser((await this.byId(id))!);
  }

  async setPassword(id: string, password: string): Promise<void> {
    const hash = await hashPassword(password);
    const r = await this.db.updateTable('users').set({ password_hash: hash, updated_at: Date.now() }).where('id', '=', id).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw new AppError('not_found', 'No such user');
  }

  async list(): Promise<User[]> {
    const rows = await this.db.selectFrom('users').selectAll().orderBy('name').execute();
    return rows.map(toUser);
  }

  /** Active people whose name, email or role contains `q` (case-insensitive), excluding `exceptId`. */
  async search(q: string, exceptId: string, limit = 20): Promise<User[]> {
    let query = this.db.selectFrom('users').selectAll().where('active', '=', 1).where('id', '!=', exceptId);
    if (q) {
      const p = likePattern(q);
      // ESCAPE is explicit: SQLite has no default LIKE escape character.
      query = query.where(
        sql<boolean>`(lower(name) like ${p} escape '\\' or lower(email) like ${p} escape '\\' or role like ${p} escape '\\')`,
      );
    }
    const rows = await query.orderBy('name').limit(limit).execute();
    return rows.map(toUser);
  }
}
