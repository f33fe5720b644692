import { createECDH, createPublicKey, hkdfSync, createDecipheriv, randomBytes, verify, type ECDH } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import selfsigned from 'selfsigned';

/** One push request as the push service received it, decrypted with the subscription's own keys. */
export interface ReceivedPush {
  /** The subscription's endpoint. */
  endpoint: string;
  ttl: number;
  urgency: string | undefined;
  topic: string | undefined;
  contentEncoding: string | undefined;
  /** The decrypted body (RFC 8291 aes128gcm), parsed as JSON. */
  payload: unknown;
  /** The decrypted body as text: what a browser's push service hands its service worker. */
  text: string;
  /** The VAPID claims (RFC 8292), after checking the signature against `k`. */
  vapid: { aud: string; sub: string; exp: number; publicKey: string };
  /** The raw body, as the push service would forward it to the browser. */
  body: Buffer;
}

export interface TestSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

const b64u = (b: Buffer) => b.toString('base64url');

/**
 * RFC 8291 §3.4 + RFC 8188: the user agent's side of Web Push decryption, with the subscription's
 * P-256 key pair and auth secret. Throws when anything does not check out.
 */
export function decryptAes128gcm(body: Buffer, ua: ECDH, authSecret: Buffer): Buffer {
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20]!;
  const asPublic = body.subarray(21, 21 + idlen);
  const ciphertext = body.subarray(21 + idlen);
  if (idlen !== 65) throw new Error(`keyid is ${idlen} bytes, expected the sender's 65-byte public key`);
  if (ciphertext.length > rs) throw new Error('more than one record: Web Push allows one');
  const uaPublic = ua.getPublicKey();
  const ecdhSecret = ua.computeSecret(asPublic);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
  const ikm = Buffer.from(hkdfSync('sha256', ecdhSecret, authSecret, keyInfo, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
  // The last record ends with the delimiter 0x02, then zero padding.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error('last-record delimiter missing');
  return padded.subarray(0, end);
}

/** RFC 8292: `Authorization: vapid t=<JWT>, k=<public key>`; the ES256 signature must verify with k. */
function checkVapid(header: string | undefined): ReceivedPush['vapid'] {
  const m = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(header ?? '');
  if (!m) throw new Error(`Authorization is not VAPID: ${header}`);
  const [, jwt, k] = m as unknown as [string, string, string];
  const [h, p, sig] = jwt.split('.');
  if (!h || !p || !sig) throw new Error('malformed JWT');
  const header_ = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg: string };
  if (header_.alg !== 'ES256') throw new Error(`JWT alg ${header_.alg}`);
  const raw = Buffer.from(k, 'base64url');
  const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64u(raw.subarray(1, 33)), y: b64u(raw.subarray(33, 65)) }, format: 'jwk' });
  const ok = verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'base64url'));
  if (!ok) throw new Error('VAPID signature does not verify');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as { aud: string; sub: string; exp: number };
  return { ...claims, publicKey: k };
}

/**
 * A push service on loopback, for tests: HTTPS with its own certificate (`agent` / `ca` trust it),
 * endpoints it hands out with `subscribe()`, each decrypting what it receives with the keys made
 * for it, answering 201 — or whatever `respondWith` set, e.g. 410 for an expired subscription.
 */
export class LocalPushService {
  /** Every push received, in order. */
  readonly history: ReceivedPush[] = [];
  /** Received and not yet taken by next(). */
  private readonly received: ReceivedPush[] = [];
  /** Requests that failed to verify or decrypt: a test should expect this empty. */
  readonly errors: string[] = [];
  /** By path: an endpoint may name this service by address or by `localhost`. */
  private readonly subs = new Map<string, { endpoint: string; ecdh: ECDH; auth: Buffer; status: number }>();
  private readonly waiters: Array<{ match: (r: ReceivedPush) => boolean; resolve: (r: ReceivedPush) => void }> = [];

  private constructor(
    private readonly server: https.Server,
    readonly url: string,
    /** The service's certificate: give it to Node as `ca` (or NODE_EXTRA_CA_CERTS) to trust it. */
    readonly ca: string,
    readonly agent: https.Agent,
  ) {}

  static async start(): Promise<LocalPushService> {
    const pems = await selfsigned.generate([{ name: 'commonName', value: '127.0.0.1' }], {
      days: 1,
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] }],
    } as Parameters<typeof selfsigned.generate>[1]);
    const server = https.createServer({ key: pems.private, cert: pems.cert });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const self = new LocalPushService(server, `https://127.0.0.1:${port}`, pems.cert, new https.Agent({ ca: pems.cert, keepAlive: false }));
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => res.writeHead(self.receive(req.url ?? '', req.headers, Buffer.concat(chunks))).end());
    });
    return self;
  }

  /**
   * A new subscription: an endpoint here and a browser-like key pair (the test keeps the private
   * half). `host: 'localhost'` names the service by a name instead of its address.
   */
  subscribe(o: { host?: 'localhost' } = {}): TestSubscription {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const auth = randomBytes(16);
    const path = `/push/${randomBytes(12).toString('hex')}`;
    const base = o.host ? this.url.replace('127.0.0.1', o.host) : this.url;
    const endpoint = base + path;
    this.subs.set(path, { endpoint, ecdh, auth, status: 201 });
    return { endpoint, keys: { p256dh: b64u(ecdh.getPublicKey()), auth: b64u(auth) } };
  }

  /** What this endpoint answers from now on (410: the subscription expired). */
  respondWith(endpoint: string, status: number): void {
    this.subs.get(new URL(endpoint).pathname)!.status = status;
  }

  /** The next push (already received or yet to come) that `match` accepts. */
  next(match: (r: ReceivedPush) => boolean = () => true, ms = 5000): Promise<ReceivedPush> {
    const seen = this.received.find(match);
    if (seen) {
      this.received.splice(this.received.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no matching push within ${ms} ms (${this.errors.join('; ') || 'no errors'})`)), ms);
      this.waiters.push({ match, resolve: (r) => (clearTimeout(t), resolve(r)) });
    });
  }

  /** Pushes received for this endpoint so far, in order (kept, unlike next()). */
  all(endpoint: string): ReceivedPush[] {
    return this.history.filter((r) => r.endpoint === endpoint);
  }

  private receive(path: string, headers: Record<string, string | string[] | undefined>, body: Buffer): number {
    const sub = this.subs.get(path);
    if (!sub) return 404;
    const { endpoint } = sub;
    try {
      const h = (n: string) => (typeof headers[n] === 'string' ? (headers[n] as string) : undefined);
      const r: ReceivedPush = {
        endpoint,
        ttl: Number(h('ttl')),
        urgency: h('urgency'),
        topic: h('topic'),
        contentEncoding: h('content-encoding'),
        text: decryptAes128gcm(body, sub.ecdh, sub.auth).toString('utf8'),
        payload: undefined,
        vapid: checkVapid(h('authorization')),
        body,
      };
      r.payload = JSON.parse(r.text);
      this.history.push(r);
      const w = this.waiters.findIndex((x) => x.match(r));
      if (w >= 0) this.waiters.splice(w, 1)[0]!.resolve(r);
      else this.received.push(r);
    } catch (err) {
      this.errors.push((err as Error).message);
      return 400;
    }
    return sub.status;
  }

  async close(): Promise<void> {
    this.agent.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
