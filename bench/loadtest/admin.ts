import { randomBytes } from 'node:crypto';

/** The target refused or could not be reached: one clear sentence, exit code 2. */
export class TargetError extends Error {
  override name = 'TargetError';
}

export interface TestUser {
  id: string;
  email: string;
  cookie: string;
}

const PREFIX = 'loadtest-';
const DOMAIN = 'loadtest.parley.invalid';
export const emailOf = (role: 'caller' | 'callee', i: number) => `${PREFIX}${role}-${i}@${DOMAIN}`;

/** A small HTTP client for one Parley server, with the errors worded for a person at a terminal. */
export class ParleyApi {
  constructor(readonly url: string) {}

  // The body is whatever JSON the server sent; each caller checks the status before reading it.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async request(method: string, pathname: string, opts: { cookie?: string; body?: unknown } = {}): Promise<{ status: number; body: any; setCookie: string | null }> {
    const headers: Record<string, string> = { origin: this.url };
    if (opts.cookie) headers.cookie = opts.cookie;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(this.url + pathname, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal: AbortSignal.timeout(30_000) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      const why: Record<string, string> = {
        ECONNREFUSED: 'nothing is listening there (connection refused)',
        ENOTFOUND: 'the host name does not resolve',
        EAI_AGAIN: 'the host name does not resolve',
        ECONNRESET: 'the server closed the connection',
        TimeoutError: 'no answer within 30 s',
      };
      throw new TargetError(`Cannot reach ${this.url}: ${why[cause] ?? cause}`);
    }
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body, setCookie: res.headers.get('set-cookie') };
  }

  /** Checks that this is a Parley server that is up. */
  async check(): Promise<void> {
    const res = await this.request('GET', '/healthz');
    if (res.status === 503) throw new TargetError(`${this.url} is a Parley server, but its database is unreachable (GET /healthz: 503)`);
    if (res.status !== 200 || res.body?.status !== 'ok') throw new TargetError(`${this.url} does not look like a Parley server (GET /healthz answered ${res.status})`);
  }

  async login(email: string, password: string): Promise<string> {
    const res = await this.request('POST', '/api/auth/login', { body: { email, password } });
    if (res.status === 401) throw new TargetError(`Sign-in refused for ${email}: wrong email or password`);
    if (res.status === 429) throw new TargetError(`Sign-in for ${email} is throttled by the server: ${res.body?.error?.message ?? 'try later'}`);
    if (res.status !== 200 || !res.setCookie) throw new TargetError(`Sign-in for ${email} failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.setCookie.split(';')[0]!;
  }
}

/**
 * Signs in as the admin and makes sure `pairs` callers and callees exist, active, with a password
 * this run knows; then signs each of them in. Users from an earlier run are reused.
 */
export async function prepareUsers(
  api: ParleyApi,
  admin: { email: string; password: string },
  pairs: number,
  onProgress: (done: number, total: number) => void = () => undefined,
): Promise<{ callers: TestUser[]; callees: TestUser[]; adminCookie: string }> {
  const adminCookie = await api.login(admin.email, admin.password).catch((err: unknown) => {
    if (err instanceof TargetError && /wrong email or password/.test(err.message)) {
      throw new TargetError(`The admin sign-in was refused (${admin.email}): give the right --admin-email and --admin-password`);
    }
    throw err;
  });
  const list = await api.request('GET', '/api/admin/users', { cookie: adminCookie });
  if (list.status === 403) throw new TargetError(`${admin.email} is not an admin: the load test creates its users through the admin API`);
  if (list.status !== 200) throw new TargetError(`Listing users failed: ${list.status} ${JSON.stringify(list.body)}`);
  const existing = new Map<string, { id: string; active: boolean }>((list.body.users as Array<{ id: string; email: string; active: boolean }>).map((u) => [u.email, u]));
  const password = `lt-${randomBytes(12).toString('hex')}`;
  const total = pairs * 2;
  let done = 0;

  const ensure = async (role: 'caller' | 'callee', i: number): Promise<TestUser> => {
    const email = emailOf(role, i);
    let id = existing.get(email)?.id;
    if (!id) {
      const res = await api.request('POST', '/api/admin/users', { cookie: adminCookie, body: { name: `Load test ${role} ${i}`, email, role: 'nurse', password } });
      if (res.status !== 201) throw new TargetError(`Creating ${email} failed: ${res.status} ${JSON.stringify(res.body)}`);
      id = res.body.user.id as string;
    } else {
      if (!existing.get(email)!.active) {
        const res = await api.request('PATCH', `/api/admin/users/${id}`, { cookie: adminCookie, body: { active: true } });
        if (res.status !== 200) throw new TargetError(`Reactivating ${email} failed: ${res.status} ${JSON.stringify(res.body)}`);
      }
      const res = await api.request('POST', `/api/admin/users/${id}/password`, { cookie: adminCookie, body: { password } });
      if (res.status !== 204) throw new TargetError(`Setting the password of ${email} failed: ${res.status} ${JSON.stringify(res.body)}`);
    }
    const cookie = await api.login(email, password);
    onProgress(++done, total);
    return { id, email, cookie };
  };

  // A few at a time: each creation and sign-in costs the server one scrypt hash.
  const callers: TestUser[] = new Array(pairs);
  const callees: TestUser[] = new Array(pairs);
  const jobs = Array.from({ length: pairs }, (_, i) => i);
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let i = jobs.shift(); i !== undefined; i = jobs.shift()) {
        callers[i] = await ensure('caller', i);
        callees[i] = await ensure('callee', i);
      }
    }),
  );
  return { callers, callees, adminCookie };
}

/** Deactivates every load-test user (Parley has no deletion: deactivated people sign in no more). */
export async function cleanupUsers(api: ParleyApi, adminCookie: string): Promise<number> {
  const list = await api.request('GET', '/api/admin/users', { cookie: adminCookie });
  if (list.status !== 200) throw new TargetError(`Listing users failed: ${list.status}`);
  let n = 0;
  for (const u of list.body.users as Array<{ id: string; email: string; active: boolean }>) {
    if (!u.email.startsWith(PREFIX) || !u.email.endsWith(`@${DOMAIN}`) || !u.active) continue;
    const res = await api.request('PATCH', `/api/admin/users/${u.id}`, { cookie: adminCookie, body: { active: false } });
    if (res.status === 200) n++;
  }
  return n;
}
