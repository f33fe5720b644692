import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// qrcode and selfsigned (with its X.509 and WebCrypto code, ~11 MB resident) load only when a
// certificate or a QR code is wanted, not in every server (docs/decisions/010-compiled-server.md).

/** This machine's non-loopback IPv4 addresses: the ones a phone on the same Wi-Fi can reach. */
export function lanAddresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flat()
    .filter((a): a is os.NetworkInterfaceInfo => !!a && a.family === 'IPv4' && !a.internal)
    .map((a) => a.address);
}

export interface TlsFiles {
  key: string;
  cert: string;
}

/**
 * A self-signed certificate for localhost and the LAN addresses, kept in `dir` and reused while it
 * covers the same addresses and is valid for another day — so a phone accepts it once, not at every
 * start. getUserMedia needs a secure context: without HTTPS a phone gets no camera.
 */
export async function selfSignedCertificate(dir: string, addresses: string[]): Promise<TlsFiles & { created: boolean }> {
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  const metaFile = path.join(dir, 'cert.json');
  const wanted = ['localhost', '127.0.0.1', ...addresses].sort().join(',');
  try {
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as { names: string; notAfter: number };
    if (meta.names === wanted && meta.notAfter - Date.now() > 86_400_000) {
      return { key: fs.readFileSync(keyFile, 'utf8'), cert: fs.readFileSync(certFile, 'utf8'), created: false };
    }
  } catch {
    /* none yet, or unreadable: make a new one */
  }
  const days = 365;
  const { default: selfsigned } = await import('selfsigned');
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'Parley (self-signed)' }], {
    days,
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, ...['127.0.0.1', ...addresses].map((ip) => ({ type: 7, ip }))] },
    ],
  } as Parameters<typeof selfsigned.generate>[1]);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(keyFile, pems.private, { mode: 0o600 });
  fs.writeFileSync(certFile, pems.cert);
  fs.writeFileSync(metaFile, JSON.stringify({ names: wanted, notAfter: Date.now() + days * 86_400_000 }));
  return { key: pems.private, cert: pems.cert, created: true };
}

/** A QR code of `url` drawn with block characters, for a phone's camera. */
export async function terminalQr(url: string): Promise<string> {
  const { default: QRCode } = await import('qrcode');
  return QRCode.toString(url, { type: 'terminal', small: true, errorCorrectionLevel: 'M' });
}
