import fs from 'node:fs';
import path from 'node:path';
import proxyAddr from 'proxy-addr';
import { Email } from '@parley/protocol';
import { z } from 'zod';
import type { SignInLimits } from './features/auth/sign-in-guard.ts';
import type { IceSettings } from './features/rtc/ice-config.ts';
import type { SocketLimits } from './realtime/realtime.ts';
import { iceUrlProblem, splitUrls } from './features/rtc/ice-urls.ts';
import { passwordProblem } from './lib/password-policy.ts';

/** redis:// or rediss://, a host, a numeric port if any, and a database number if any: what ioredis can connect to. */
function isRedisUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'redis:' || u.protocol === 'rediss:') && u.hostname !== '' && /^(\/\d*)?$/.test(u.pathname) && !/\s/.test(value);
  } catch {
    return false;
  }
}

const bool = z
  .enum(['0', '1', 'true', 'false', 'yes', 'no', ''])
  .transform((v) => v === '1' || v === 'true' || v === 'yes');

const databaseUrl = z
  .string()
  .trim()
  .min(1)
  .refine((v) => /^(postgres|postgresql):\/\//.test(v) || v.startsWith('sqlite:') || v === ':memory:', {
    message: 'must be postgres://…, postgresql://…, sqlite:<path> or :memory:',
  });

const origins = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
  .pipe(z.array(z.url({ message: 'each entry must be an origin such as https://parley.example.org' })));

/**
 * The reverse proxies whose X-Forwarded-* headers are believed: addresses, CIDRs, or proxy-addr's
 * names (loopback, linklocal, uniquelocal). Never "every hop": `1`/`true` would let any client
 * choose the address the throttles and the logs see.
 */
const trustProxy = z
  .string()
  .transform((v) => (['', '0', 'false', 'no'].includes(v.trim()) ? [] : v.split(',').map((s) => s.trim()).filter(Boolean)))
  .superRefine((list, ctx) => {
    if (list.some((e) => ['1', 'true', 'yes', '*'].includes(e))) {
      ctx.addIssue({
        code: 'custom',
        message: 'no longer accepts 1/true (that trusts every hop, so any client could forge its address); list your proxy addresses or CIDRs, e.g. 127.0.0.1 or 10.0.0.0/8',
      });
      return;
    }
    try {
      proxyAddr.compile(list);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `must be addresses or CIDRs separated by commas, e.g. 127.0.0.1,10.0.0.0/8 (${(err as Error).message})` });
    }
  });

const count = (min: number, max: number, dflt: number) => z.coerce.number().int().min(min).max(max).default(dflt);

/** `<per socket>/<per user>` events per 10 s, e.g. `50/200`. */
const budget = (dflt: string) =>
  z
    .string()
    .default(dflt)
    .refine((v) => /^\s*\d{1,7}\s*\/\s*\d{1,7}\s*$/.test(v) && v.split('/').every((n) => Number(n) >= 1), { message: 'must be <per socket>/<per user>, two whole numbers ≥ 1, e.g. 50/200' })
    .transform((v) => {
      const [perSocket, perUser] = v.split('/').map((n) => Number(n.trim())) as [number, number];
      return { perSocket, perUser };
    });

/** Every configuration variable, with its default. docs/configuration in the README mirrors this. */
export const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  DATABASE_URL: databaseUrl.default('sqlite:./data/parley.db'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_IPS: bool.default(true),
  PARLEY_DEMO_USERS: bool.optional(),
  PARLEY_ADMIN_EMAIL: Email.optional(),
  PARLEY_ADMIN_PASSWORD: z.string().optional(),
  PARLEY_ADMIN_NAME: z.string().trim().min(1).max(100).default('Administrator'),
  SESSION_TTL_HOURS: z.coerce.number().int().min(1).max(24 * 365).default(24 * 14),
  SESSION_IDLE_MINUTES: z.coerce.number().int().min(0).max(60 * 24 * 365).default(0),
  PARLEY_ORIGINS: origins.default([]),
  TRUST_PROXY: trustProxy.default([]),
  SIGNIN_PAIR_MAX: count(1, 1000, 5),
  SIGNIN_ACCOUNT_MAX: count(1, 100_000, 20),
  SIGNIN_ADDRESS_MAX: count(1, 100_000, 50),
  SIGNIN_VERIFY_CONCURRENCY: count(1, 64, 2),
  RATE_LIMIT_CHAT: budget('50/200'),
  RATE_LIMIT_INVITE: budget('10/20'),
  RATE_LIMIT_SIGNALLING: budget('400/1000'),
  RATE_LIMIT_STATS: budget('30/100'),
  RATE_LIMIT_OTHER: budget('30/100'),
  RATE_LIMIT_REST: budget('300/3000'),
  SOCKETS_PER_USER: count(1, 10_000, 30),
  SOCKETS_PER_SESSION: count(1, 10_000, 10),
  SOCKET_CONNECTS_PER_ADDRESS: count(1, 1_000_000, 300),
  WEB_DIST: z.string().optional(),
  CALL_RING_TIMEOUT_S: z.coerce.number().min(1).max(600).default(45),
  CALL_RECONNECT_GRACE_S: z.coerce.number().min(0.5).max(300).default(10),
  CALL_INVITES_PER_MINUTE: z.coerce.number().int().min(1).max(10_000).default(20),
  CALL_UNANSWERED_ENTRIES_PER_10_MIN: z.coerce.number().int().min(1).max(10_000).default(10),
  CALL_PRECONNECT: bool.default(true),
  STUN_URLS: z.string().default('stun:stun.l.google.com:19302'),
  TURN_URLS: z.string().default(''),
  TURN_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  TURN_USERNAME: z.string().min(1).optional(),
  TURN_CREDENTIAL: z.string().min(1).optional(),
  TURN_TTL_S: z.coerce.number().int().min(60).max(7 * 86400).default(3600),
  ICE_TRANSPORT_POLICY: z.enum(['all', 'relay']).default('all'),
  TURN_MODE: z.enum(['auto', 'off', 'external']).default('auto'),
  TURN_PORT: z.coerce.number().int().min(1).max(65535).default(3478),
  HTTPS: bool.default(false),
  TLS_CERT: z.string().min(1).optional(),
  TLS_KEY: z.string().min(1).optional(),
  REDIS_URL: z.string().trim().refine(isRedisUrl, 'must be redis://[user:password@]host[:port][/db] (or rediss:// for TLS)').optional(),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  VAPID_PUBLIC_KEY: z.string().trim().min(1).optional(),
  VAPID_PRIVATE_KEY: z.string().trim().min(1).optional(),
  VAPID_SUBJECT: z.string().trim().regex(/^(mailto:.+|https:\/\/.+)$/, 'must be a mailto: or https: URL').default('mailto:admin@parley.invalid'),
  PUSH_PREVIEWS: bool.default(false),
  PUSH_ALLOW_LOCAL_ENDPOINTS: bool.default(false),
}).superRefine((e, ctx) => {
  if (!!e.PARLEY_ADMIN_EMAIL !== !!e.PARLEY_ADMIN_PASSWORD) {
    ctx.addIssue({ code: 'custom', path: [e.PARLEY_ADMIN_EMAIL ? 'PARLEY_ADMIN_PASSWORD' : 'PARLEY_ADMIN_EMAIL'], message: 'PARLEY_ADMIN_EMAIL and PARLEY_ADMIN_PASSWORD go together' });
  }
  const adminProblem = e.PARLEY_ADMIN_PASSWORD !== undefined ? passwordProblem(e.PARLEY_ADMIN_PASSWORD) : undefined;
  if (adminProblem) ctx.addIssue({ code: 'custom', path: ['PARLEY_ADMIN_PASSWORD'], message: adminProblem });
  if (!!e.VAPID_PUBLIC_KEY !== !!e.VAPID_PRIVATE_KEY) {
    ctx.addIssue({ code: 'custom', path: [e.VAPID_PUBLIC_KEY ? 'VAPID_PRIVATE_KEY' : 'VAPID_PUBLIC_KEY'], message: 'VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY go together' });
  }
  const keyBytes = (v: string | undefined) => (v && /^[A-Za-z0-9_-]+$/.test(v) ? Buffer.from(v, 'base64url') : undefined);
  const pub = keyBytes(e.VAPID_PUBLIC_KEY);
  if (e.VAPID_PUBLIC_KEY && !(pub?.length === 65 && pub[0] === 4)) {
    ctx.addIssue({ code: 'custom', path: ['VAPID_PUBLIC_KEY'], message: 'must be an uncompressed P-256 public key in base64url (87 characters, as `npx web-push generate-vapid-keys` prints)' });
  }
  if (e.VAPID_PRIVATE_KEY && keyBytes(e.VAPID_PRIVATE_KEY)?.length !== 32) {
    ctx.addIssue({ code: 'custom', path: ['VAPID_PRIVATE_KEY'], message: 'must be a 32-byte P-256 private key in base64url (43 characters)' });
  }
  if (!!e.TLS_CERT !== !!e.TLS_KEY) {
    ctx.addIssue({ code: 'custom', path: [e.TLS_CERT ? 'TLS_KEY' : 'TLS_CERT'], message: 'TLS_CERT and TLS_KEY go together' });
  }
  for (const name of ['TLS_CERT', 'TLS_KEY'] as const) {
    const file = e[name];
    if (file && !fs.existsSync(file)) ctx.addIssue({ code: 'custom', path: [name], message: `no such file: ${file}` });
  }
  const urls = (name: 'STUN_URLS' | 'TURN_URLS', kind: 'stun' | 'turn') => {
    for (const url of splitUrls(e[name])) {
      const problem = iceUrlProblem(url, kind);
      if (problem) ctx.addIssue({ code: 'custom', path: [name], message: `contains ${problem}` });
    }
  };
  urls('STUN_URLS', 'stun');
  urls('TURN_URLS', 'turn');
  const hasTurn = splitUrls(e.TURN_URLS).length > 0;
  if (hasTurn && !e.TURN_SECRET && !(e.TURN_USERNAME && e.TURN_CREDENTIAL)) {
    ctx.addIssue({ code: 'custom', path: ['TURN_URLS'], message: 'needs credentials: set TURN_SECRET (coturn use-auth-secret) or TURN_USERNAME and TURN_CREDENTIAL' });
  }
  if (!!e.TURN_USERNAME !== !!e.TURN_CREDENTIAL) {
    ctx.addIssue({ code: 'custom', path: [e.TURN_USERNAME ? 'TURN_CREDENTIAL' : 'TURN_USERNAME'], message: 'TURN_USERNAME and TURN_CREDENTIAL go together' });
  }
  if (e.TURN_MODE === 'external' && !hasTurn) {
    ctx.addIssue({ code: 'custom', path: ['TURN_MODE'], message: 'external needs TURN_URLS' });
  }
});

export type Env = z.infer<typeof EnvSchema>;

export interface Config {
  env: Env['NODE_ENV'];
  host: string;
  port: number;
  database: { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };
  logLevel: Env['LOG_LEVEL'];
  /** LOG_IPS=0: no client address in any log line. */
  logIps: boolean;
  /** Demo accounts on an empty database: never in production. */
  demoUsers: boolean;
  /** The first admin, created on an empty database (PARLEY_ADMIN_EMAIL / PARLEY_ADMIN_PASSWORD). */
  firstAdmin: { name: string; email: string; password: string } | undefined;
  sessionTtlMs: number;
  /** SESSION_IDLE_MINUTES: a session unused this long ends (sliding); 0: off. */
  sessionIdleMs: number;
  /** Origins allowed besides the one the request was addressed to. */
  extraOrigins: string[];
  /** Proxy addresses/CIDRs whose X-Forwarded-* headers count; empty: none. */
  trustProxy: string[];
  signIn: SignInLimits;
  sockets: SocketLimits;
  /** REST requests under /api per minute: per session (cookie) and per client address. */
  rest: { perSession: number; perAddress: number };
  webDist: string;
  calls: {
    ringTimeoutMs: number;
    reconnectGraceMs: number;
    /** Calls one person may start per minute (call.invite); beyond that, `rate_limited`. */
    invitesPerMinute: number;
    /** History entries for unanswered calls one caller may add to one callee's conversation per 10 minutes. */
    unansweredPer10Min: number;
    /**
     * CALL_PRECONNECT: while a call rings, the caller's device may negotiate with each callee device
     * whose call.ringing said `preconnect` (docs/decisions/020-preconnect-while-ringing.md); off,
     * every signal waits for the answer.
     */
    preconnect: boolean;
  };
  ice: IceSettings;
  /** auto: use TURN_URLS, else start coturn when installed; off: never start coturn; external: TURN_URLS only. */
  turnMode: 'auto' | 'off' | 'external';
  /** The port managed coturn listens on (UDP and TCP). */
  turnPort: number;
  /** HTTPS: from files, or a generated self-signed certificate for this machine's LAN addresses. */
  tls: { kind: 'files'; certFile: string; keyFile: string } | { kind: 'self-signed' } | undefined;
  /** REDIS_URL: several nodes share fan-out, presence, rate limits and calls through it; unset: one node, all in memory. */
  redisUrl: string | undefined;
  /** Bearer token for GET /metrics; unset: no /metrics route. */
  metricsToken: string | undefined;
  push: {
    /** Given by VAPID_PUBLIC_KEY/VAPID_PRIVATE_KEY; else a pair is made on first start and kept in the database. */
    vapid: { publicKey: string; privateKey: string } | undefined;
    subject: string;
    /** PUSH_PREVIEWS=1: message notifications show the text. Off by default: a locked screen is not private. */
    previews: boolean;
    /** PUSH_ALLOW_LOCAL_ENDPOINTS=1: accept push endpoints on loopback and private addresses (a local push service in tests). */
    allowLocalEndpoints: boolean;
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const repoRoot = path.resolve(import.meta.dirname, '../../..');

/**
 * Parses the environment (and `--lan`, which means HTTPS=1 on every interface); throws ConfigError
 * naming each bad variable.
 */
export function loadConfig(source: NodeJS.ProcessEnv = process.env, argv: string[] = []): Config {
  if (argv.includes('--lan')) source = { HTTPS: '1', HOST: '0.0.0.0', ...source };
  const parsed = EnvSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${String(i.path[0])}: ${i.message} (got ${JSON.stringify(source[String(i.path[0])])})`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const url = e.DATABASE_URL;
  const database: Config['database'] =
    url === ':memory:'
      ? { kind: 'sqlite', file: ':memory:' }
      : url.startsWith('sqlite:')
        ? { kind: 'sqlite', file: path.resolve(url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '')) }
        : { kind: 'postgres', url };
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    database,
    logLevel: e.LOG_LEVEL,
    logIps: e.LOG_IPS,
    demoUsers: e.NODE_ENV !== 'production' && (e.PARLEY_DEMO_USERS ?? true),
    firstAdmin: e.PARLEY_ADMIN_EMAIL && e.PARLEY_ADMIN_PASSWORD ? { name: e.PARLEY_ADMIN_NAME, email: e.PARLEY_ADMIN_EMAIL, password: e.PARLEY_ADMIN_PASSWORD } : undefined,
    sessionTtlMs: e.SESSION_TTL_HOURS * 3600_000,
    sessionIdleMs: e.SESSION_IDLE_MINUTES * 60_000,
    extraOrigins: e.PARLEY_ORIGINS.map((o) => new URL(o).origin),
    trustProxy: e.TRUST_PROXY,
    sockets: {
      events: { chat: e.RATE_LIMIT_CHAT, invite: e.RATE_LIMIT_INVITE, signalling: e.RATE_LIMIT_SIGNALLING, stats: e.RATE_LIMIT_STATS, other: e.RATE_LIMIT_OTHER },
      socketsPerUser: e.SOCKETS_PER_USER,
      socketsPerSession: e.SOCKETS_PER_SESSION,
      connectsPerAddress: e.SOCKET_CONNECTS_PER_ADDRESS,
    },
    rest: { perSession: e.RATE_LIMIT_REST.perSocket, perAddress: e.RATE_LIMIT_REST.perUser },
    signIn: { perPair: e.SIGNIN_PAIR_MAX, perAccount: e.SIGNIN_ACCOUNT_MAX, perAddress: e.SIGNIN_ADDRESS_MAX, verifyConcurrency: e.SIGNIN_VERIFY_CONCURRENCY },
    webDist: path.resolve(e.WEB_DIST ?? path.join(repoRoot, 'apps/web/dist')),
    calls: {
      ringTimeoutMs: e.CALL_RING_TIMEOUT_S * 1000,
      reconnectGraceMs: e.CALL_RECONNECT_GRACE_S * 1000,
      invitesPerMinute: e.CALL_INVITES_PER_MINUTE,
      unansweredPer10Min: e.CALL_UNANSWERED_ENTRIES_PER_10_MIN,
      preconnect: e.CALL_PRECONNECT,
    },
    ice: {
      stunUrls: splitUrls(e.STUN_URLS),
      turnUrls: splitUrls(e.TURN_URLS),
      turnSecret: e.TURN_SECRET,
      turnUsername: e.TURN_USERNAME,
      turnCredential: e.TURN_CREDENTIAL,
      turnTtlS: e.TURN_TTL_S,
      transportPolicy: e.ICE_TRANSPORT_POLICY,
    },
    turnMode: e.TURN_MODE,
    turnPort: e.TURN_PORT,
    tls: e.TLS_CERT && e.TLS_KEY ? { kind: 'files', certFile: e.TLS_CERT, keyFile: e.TLS_KEY } : e.HTTPS ? { kind: 'self-signed' } : undefined,
    metricsToken: e.METRICS_TOKEN,
    redisUrl: e.REDIS_URL,
    push: {
      vapid: e.VAPID_PUBLIC_KEY && e.VAPID_PRIVATE_KEY ? { publicKey: e.VAPID_PUBLIC_KEY, privateKey: e.VAPID_PRIVATE_KEY } : undefined,
      subject: e.VAPID_SUBJECT,
      previews: e.PUSH_PREVIEWS,
      allowLocalEndpoints: e.PUSH_ALLOW_LOCAL_ENDPOINTS,
    },
  };
}
