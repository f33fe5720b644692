import type { ClientToServerEvents, ServerToClientEvents } from '@parley/protocol';
import { io as ioClient, type Socket } from 'socket.io-client';
import { randomBytes } from 'node:crypto';
import { DEMO_PASSWORD } from '../features/users/demo-users.ts';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startNginx, type TestNginx } from './nginx.ts';
import { freePort, startPostgres, type TestPostgres } from './postgres.ts';
import { startRedis, type TestRedis } from './redis.ts';
import { runMain } from './run-main.ts';

export type Node = Awaited<ReturnType<typeof runMain>> & { name: string; url: string; port: number; env: Record<string, string> };
export type ClusterSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface Cluster {
  nodes: Node[];
  redis: TestRedis;
  nginx: TestNginx;
  /** postgres://… of the cluster's database, for checking what was stored. */
  databaseUrl: string;
  /** Starts a stopped or killed node again, same port and settings. */
  restart(node: Node): Promise<Node>;
  /** Signs in through nginx; returns the cookie. */
  login(email: string, password?: string): Promise<string>;
  request(method: string, path: string, opts?: { cookie?: string; body?: unknown }): Promise<{ status: number; body: any }>;
  /** Resolves once every node can see these devices of the user online (each node counts its sockets in Redis as they connect). */
  devicesCounted(userId: string, deviceIds: string[], ms?: number): Promise<void>;
  /** A socket through nginx (or straight to `via`, a node's URL) that reconnects by itself, as the web app's does. */
  connect(cookie: string, deviceId: string, via?: string): Promise<ClusterSocket>;
  close(): Promise<void>;
}

/**
 * Several real Parley processes (apps/server/src/main.ts) on one fresh PostgreSQL database and one
 * Redis, behind nginx running deploy/nginx/parley.conf. Nodes are started one after the other (a
 * start at once is setup.test.ts's subject).
 */
export async function startCluster(opts: { nodes?: number; balance?: 'first' | 'round-robin'; env?: Record<string, string> } = {}): Promise<Cluster> {
  const postgres = await startPostgres();
  const fresh = await createDatabase(postgres);
  const databaseUrl = fresh.url;
  const redis = await startRedis();
  const nodes: Node[] = [];
  const sockets: ClusterSocket[] = [];
  let nginx: TestNginx | undefined;

  const launch = async (name: string, port: number): Promise<Node> => {
    const env = {
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      TRUST_PROXY: '127.0.0.1',
      PARLEY_DEMO_USERS: '1',
      SIGNIN_ADDRESS_MAX: '10000',
      SIGNIN_ACCOUNT_MAX: '10000',
      // Ten clients resend a thousand messages in a burst: the chat budget is not what this tests.
      RATE_LIMIT_CHAT: '100000/1000000',
      LOG_LEVEL: 'info',
      ...opts.env,
    };
    const main = await runMain(env);
    return Object.assign(main, { name, url: `http://127.0.0.1:${port}`, port, env });
  };

  try {
    for (let i = 0; i < (opts.nodes ?? 2); i++) nodes.push(await launch(String.fromCharCode(65 + i), await freePort()));
    nginx = await startNginx(nodes.map((n) => `127.0.0.1:${n.port}`), opts.balance ?? 'first');
  } catch (err) {
    for (const n of nodes) await n.kill();
    await nginx?.stop();
    await redis.stop();
    await postgres.stop();
    throw err;
  }
  const proxy = nginx;

  const request: Cluster['request'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { origin: proxy.url };
    if (o.cookie) headers.cookie = o.cookie;
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(proxy.url + path, { method, headers, ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  return {
    nodes,
    redis,
    nginx: proxy,
    databaseUrl,
    async restart(node) {
      await node.kill();
      const again = await launch(node.name, node.port);
      nodes[nodes.indexOf(node)] = again;
      return again;
    },
    async login(email, password = DEMO_PASSWORD) {
      const res = await fetch(`${proxy.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', origin: proxy.url }, body: JSON.stringify({ email, password }) });
      if (res.status !== 200) throw new Error(`login ${email}: ${res.status} ${await res.text()}`);
      return res.headers.get('set-cookie')!.split(';')[0]!;
    },
    request,
    async devicesCounted(userId, deviceIds, ms = 10_000) {
      const deadline = Date.now() + ms;
      const r = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await r.connect();
        for (;;) {
          const online = new Set(await r.hkeys(`parley:presence:dev:${userId}`));
          if (deviceIds.every((d) => online.has(d))) return;
          if (Date.now() > deadline) throw new Error(`devices ${deviceIds.join(', ')} of ${userId} not counted in Redis within ${ms} ms (counted: ${[...online].join(', ')})`);
          await new Promise((res) => setTimeout(res, 50));
        }
      } finally {
        r.disconnect();
      }
    },
    async connect(cookie, deviceId, via = proxy.url) {
      const socket: ClusterSocket = ioClient(via, {
        transports: ['websocket'],
        extraHeaders: { cookie, origin: via },
        auth: { deviceId },
        forceNew: true,
        reconnectionDelay: 100,
        reconnectionDelayMax: 500,
      });
      sockets.push(socket);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      return socket;
    },
    async close() {
      for (const s of sockets) s.disconnect();
      for (const n of nodes) await n.stop().catch(() => undefined);
      await proxy.stop();
      await redis.stop();
      await postgres.stop();
    },
  };
}

async function createDatabase(postgres: TestPostgres): Promise<{ url: string }> {
  const name = `parley_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client(postgres.url);
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(postgres.url);
  url.pathname = `/${name}`;
  return { url: url.toString() };
}
