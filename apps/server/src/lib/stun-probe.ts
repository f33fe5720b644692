import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';

/** Sends one STUN Binding request over UDP; resolves true when a STUN server answers within `timeoutMs`. */
export function stunAnswers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  const req = Buffer.alloc(20);
  req.writeUInt16BE(0x0001, 0); // Binding request, no attributes
  req.writeUInt32BE(0x2112a442, 4);
  randomBytes(12).copy(req, 8);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on('message', (buf) => {
      if (buf.length >= 20 && buf.readUInt16BE(0) === 0x0101 && buf.subarray(8, 20).equals(req.subarray(8, 20))) done(true);
    });
    sock.on('error', () => done(false));
    sock.send(req, port, host);
  });
}
