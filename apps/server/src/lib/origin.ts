import type { IncomingMessage } from 'node:http';

/**
 * True when the request's Origin is the origin it was addressed to (scheme + Host) or one of the
 * configured extra origins. Browsers always send Origin on WebSocket and cross-site requests, so a
 * missing Origin is refused for sockets (cross-site WebSocket hijacking) and tolerated by REST,
 * whose cookies are SameSite=Lax.
 */
export function isAllowedOrigin(req: IncomingMessage, opts: { extraOrigins: string[]; trustProxy: boolean }): boolean {
  const origin = req.headers.origin;
  if (!origin) return false;
  if (opts.extraOrigins.includes(origin)) return true;
  const forwardedProto = opts.trustProxy ? String(req.headers['x-forwarded-proto'] ?? '').split(',')[0]?.trim() : '';
  const proto = forwardedProto || ('encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http');
  const host = (opts.trustProxy ? String(req.headers['x-forwarded-host'] ?? '').split(',')[0]?.trim() : '') || req.headers.host;
  return !!host && origin === `${proto}://${host}`;
}
