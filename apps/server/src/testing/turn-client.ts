import { createHash, createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';

/** A minimal TURN client (RFC 5766/8656 over UDP) for tests: Allocate and CreatePermission with long-term credentials. */
const MAGIC = 0x2112a442;
const T = { allocate: 0x0003, createPermission: 0x0008 } as const;
const A = {
  username: 0x0006,
  messageIntegrity: 0x0008,
  errorCode: 0x0009,
  xorPeerAddress: 0x0012,
  realm: 0x0014,
  nonce: 0x0015,
  xorRelayedAddress: 0x0016,
  requestedTransport: 0x0019,
} as const;

type Attr = [type: number, value: Buffer];

function encode(method: number, attrs: Attr[], integrityKey?: Buffer): Buffer {
  const body = Buffer.concat(
    attrs.map(([type, value]) => {
      const pad = (4 - (value.length % 4)) % 4;
      const h = Buffer.alloc(4);
      h.writeUInt16BE(type, 0);
      h.writeUInt16BE(value.length, 2);
      return Buffer.concat([h, value, Buffer.alloc(pad)]);
    }),
  );
  const header = Buffer.alloc(20);
  header.writeUInt16BE(method, 0);
  header.writeUInt32BE(MAGIC, 4);
  randomBytes(12).copy(header, 8);
  if (!integrityKey) {
    header.writeUInt16BE(body.length, 2);
    return Buffer.concat([header, body]);
  }
  // MESSAGE-INTEGRITY covers the message with its length already counting the MI attribute (24 bytes).
  header.writeUInt16BE(body.length + 24, 2);
  const mac = createHmac('sha1', integrityKey).update(Buffer.concat([header, body])).digest();
  const mi = Buffer.alloc(4);
  mi.writeUInt16BE(A.messageIntegrity, 0);
  mi.writeUInt16BE(20, 2);
  return Buffer.concat([header, body, mi, mac]);
}

interface Response {
  type: number;
  success: boolean;
  attrs: Map<number, Buffer>;
  errorCode?: number;
  errorReason?: string;
}

function decode(buf: Buffer): Response {
  const type = buf.readUInt16BE(0);
  const attrs = new Map<number, Buffer>();
  let off = 20;
  const end = 20 + buf.readUInt16BE(2);
  while (off + 4 <= end) {
    const t = buf.readUInt16BE(off);
    const len = buf.readUInt16BE(off + 2);
    attrs.set(t, buf.subarray(off + 4, off + 4 + len));
    off += 4 + len + ((4 - (len % 4)) % 4);
  }
  const r: Response = { type, success: (type & 0x0110) === 0x0100, attrs };
  const err = attrs.get(A.errorCode);
  if (err) {
    r.errorCode = (err[2]! & 0x7) * 100 + err[3]!;
    r.errorReason = err.subarray(4).toString('utf8');
  }
  return r;
}

function xorAddress(ip: string, port: number): Buffer {
  const v = Buffer.alloc(8);
  v.writeUInt8(0x01, 1); // IPv4
  v.writeUInt16BE(port ^ (MAGIC >>> 16), 2);
  const octets = ip.split('.').map(Number);
  v.writeUInt32BE((((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) ^ MAGIC) >>> 0, 4);
  return v;
}

export interface TurnSession {
  relayed: { ip: string; port: number };
  /** Asks for a permission to `ip`; resolves with the STUN status (200 or the error code, e.g. 403). */
  createPermission(ip: string): Promise<{ status: number; reason?: string }>;
  close(): void;
}

/** Allocates a UDP relay on `server` with TURN REST credentials. Throws with the error code on failure. */
export async function allocate(server: { host: string; port: number }, creds: { username: string; credential: string }): Promise<TurnSession> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const transact = (msg: Buffer) =>
    new Promise<Response>((resolve, reject) => {
      const txid = msg.subarray(8, 20);
      const timer = setTimeout(() => (sock.off('message', onMsg), reject(new Error('TURN server did not answer within 3 s'))), 3000);
      const onMsg = (buf: Buffer) => {
        if (buf.length < 20 || !buf.subarray(8, 20).equals(txid)) return;
        clearTimeout(timer);
        sock.off('message', onMsg);
        resolve(decode(buf));
      };
      sock.on('message', onMsg);
      sock.send(msg, server.port, server.host);
    });

  const transport: Attr = [A.requestedTransport, Buffer.from([17, 0, 0, 0])];
  const challenge = await transact(encode(T.allocate, [transport]));
  const realm = challenge.attrs.get(A.realm);
  const nonce = challenge.attrs.get(A.nonce);
  if (challenge.errorCode !== 401 || !realm || !nonce) {
    sock.close();
    throw new Error(`expected a 401 challenge, got ${challenge.errorCode ?? challenge.type}`);
  }
  const key = createHash('md5').update(`${creds.username}:${realm.toString()}:${creds.credential}`).digest();
  const auth = (): Attr[] => [
    [A.username, Buffer.from(creds.username)],
    [A.realm, realm],
    [A.nonce, nonce],
  ];
  const res = await transact(encode(T.allocate, [transport, ...auth()], key));
  if (!res.success) {
    sock.close();
    throw Object.assign(new Error(`TURN Allocate failed: ${res.errorCode} ${res.errorReason}`), { status: res.errorCode });
  }
  const xr = res.attrs.get(A.xorRelayedAddress)!;
  const relayed = {
    port: xr.readUInt16BE(2) ^ (MAGIC >>> 16),
    ip: [...Buffer.from([(xr.readUInt32BE(4) ^ MAGIC) >>> 24, ((xr.readUInt32BE(4) ^ MAGIC) >>> 16) & 255, ((xr.readUInt32BE(4) ^ MAGIC) >>> 8) & 255, (xr.readUInt32BE(4) ^ MAGIC) & 255])].join('.'),
  };
  return {
    relayed,
    async createPermission(ip: string) {
      const r = await transact(encode(T.createPermission, [[A.xorPeerAddress, xorAddress(ip, 0)], ...auth()], key));
      return r.success ? { status: 200 } : { status: r.errorCode ?? 0, ...(r.errorReason ? { reason: r.errorReason } : {}) };
    },
    close: () => sock.close(),
  };
}
