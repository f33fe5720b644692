import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';

export interface ProxyTrust {
  /** True when the direct peer is a configured proxy, so its X-Forwarded-* headers count. */
  trusted(req: IncomingMessage): boolean;
  /** The client's address: the peer's, or for a trusted proxy the nearest untrusted X-Forwarded-For hop. */
  clientAddress(req: IncomingMessage): string;
}

/** From TRUST_PROXY's list (empty: trust nobody). */
export function proxyTrust(list: string[]): ProxyTrust {
  const trust = proxyAddr.compile(list);
  return {
    trusted: (req) => list.length > 0 && !!req.socket.remoteAddress && trust(req.socket.remoteAddress, 0),
    clientAddress: (req) => (list.length > 0 ? proxyAddr(req, trust) : (req.socket.remoteAddress ?? '')),
  };
}

/**
 * True when the request's Origin is the origin it was addressed to (scheme + Host) or one of the
 * configured extra origins. Browsers always send Origin on WebSocket and cross-site requests, so a
 * missing Origin is refused for sockets (cross-site WebSocket hijacking) and tolerated by REST,
 * whose cookies are SameSite=Lax.
 */
export function isAllowedOrigin(req: IncomingMessage, opts: { extraOrigins: string[]; proxies: ProxyTrust }): boolean {
  const origin = req.headers.origin;
  if (!origin) return false;
  if (opts.extraOrigins.includes(origin)) return true;
  const viaProxy = opts.proxies.trusted(req);
  const forwardedProto = viaProxy ? String(req.headers['x-forwarded-proto'] ?? '').split(',')[0]?.trim() : '';
  const proto = forwardedProto || ('encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http');
  const host = (viaProxy ? String(req.headers['x-forwarded-host'] ?? '').split(',')[0]?.trim() : '') || req.headers.host;
  return !!host && origin === `${proto}://${host}`;
}
