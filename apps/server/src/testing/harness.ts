import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClientToServerEvents, ServerToClientEvents } from '@parley/protocol';
import pg from 'pg';
import { io as ioClient, type Socket } from 'socket.io-client';
import { inject } from 'vitest';
import { buildApp, type BuiltApp } from '../app.ts';
import { createDb, type Db } from '../db/database.ts';
import { loadConfig, type Config } from '../env.ts';
import { FakeClock } from './fake-clock.ts';

export type DbKind = 'sqlite' | 'postgres';
export const DB_KINDS: DbKind[] = ['sqlite', 'postgres'];

/** A fresh, empty database of the given kind: a temp SQLite file, or a new database in the run's PostgreSQL. */
export async function freshDatabase(kind: DbKind): Promise<{ database: Config['database']; drop(): Promise<void> }> {
  if (kind === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-sqlite-'));
    return { database: { kind: 'sqlite', file: path.join(dir, 'parley.db') }, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  const adminUrl = inject('pgUrl');
  const name = `parley_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client(adminUrl);
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    database: { kind: 'postgres', url: url.toString() },
    async drop() {
      const c = new pg.Client(adminUrl);
      await c.connect();
      try {
        // Wait for the test's own connections to finish closing: forcing them closed while their
        // client is still ending makes pg raise an error nobody listens to any more.
        for (let i = 0; i < 50; i++) {
          const { rows } = await c.query('select count(*)::int as n from pg_stat_activity where datname = $1', [name]);
          if (rows[0].n === 0) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

export async function testDb(kind: DbKind): Promise<{ db: Db; close(): Promise<void> }> {
  const fresh = await freshDatabase(kind);
  const db = createDb(fresh.database);
  return {
    db,
    async close() {
      await db.destroy();
      await fresh.drop();
    },
  };
}

export type TestSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface TestServer extends BuiltApp {
  url: string;
  /** The clock of sessions and calls, when the test asked for a fake one: timers run only on `clock.advance(ms)`. */
  clock: FakeClock | undefined;
  /** Signs in and returns the session cookie header value. */
  login(email: string, password?: string): Promise<string>;
  /** A connected socket.io client for that cookie (Origin set to the server's own). */
  connect(cookie: string, opts?: { origin?: string; deviceId?: string }): Promise<TestSocket>;
  request(method: string, url: string, opts?: { cookie?: string; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

/** A real Parley server on a random loopback port, with the demo users, on a fresh database. */
export async function startTestServer(
  opts: { kind?: DbKind; env?: Record<string, string>; database?: Config['database']; app?: Parameters<typeof buildApp>[1]; fakeClock?: boolean } = {},
): Promise<TestServer> {
  // `database`: another test server's, to restart "the same" server; it is not dropped on close.
  const fresh = opts.database ? { database: opts.database, drop: async () => undefined } : await freshDatabase(opts.kind ?? 'sqlite');
  // The socket budget for call.invite is lifted so the call caps' own tests (features/calls) see
  // their cap bind; realtime/flood.test.ts sets the production value back to test this one.
  const config = { ...loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', STUN_URLS: '', TURN_MODE: 'off', RATE_LIMIT_INVITE: '100000/100000', ...opts.env }), database: fresh.database };
  const clock = opts.fakeClock ? new FakeClock() : undefined;
  const built = await buildApp(config, { seedDemoUsers: true, ...opts.app, ...(clock ? { clock, calls: { ...opts.app?.calls, clock } } : {}) });
  await built.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = built.app.server.address() as { port: number };
  const url = `http://127.0.0.1:${port}`;
  const sockets: TestSocket[] = [];

  const request: TestServer['request'] = async (method, pathname, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.cookie) headers.cookie = o.cookie;
    let body: string | undefined = o.raw;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(url + pathname, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };

  return {
    ...built,
    url,
    clock,
    request,
    async login(email, password = 'parley-demo-pass') {
      const res = await request('POST', '/api/auth/login', { body: { email, password } });
      if (res.status !== 200) throw new Error(`login ${email} failed: ${res.status} ${JSON.stringify(res.body)}`);
      const set = res.headers.get('set-cookie') ?? '';
      return set.split(';')[0]!;
    },
    async connect(cookie, o = {}) {
      const socket: TestSocket = ioClient(url, {
        transports: ['websocket'],
        extraHeaders: { cookie, origin: o.origin ?? url },
        ...(o.deviceId ? { auth: { deviceId: o.deviceId } } : {}),
        reconnection: false,
        forceNew: true,
      });
      sockets.push(socket);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', (err) => reject(err));
      });
      return socket;
    },
    async close() {
      for (const s of sockets) s.disconnect();
      try {
        await built.app.close();
      } finally {
        await fresh.drop();
      }
    },
  };
}

/** Resolves with the next `event` on `socket`, or rejects after `ms`. */
export function nextEvent<E extends keyof ServerToClientEvents>(socket: TestSocket, event: E, ms = 3000): Promise<Parameters<ServerToClientEvents[E]>[0]> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${String(event)} within ${ms} ms`)), ms);
    socket.once(event as 'hello', ((payload: unknown) => {
      clearTimeout(t);
      resolve(payload as Parameters<ServerToClientEvents[E]>[0]);
    }) as never);
  });
}
