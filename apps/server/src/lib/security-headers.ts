import helmet from '@fastify/helmet';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

/** The scheme each request came over (Fastify's req.protocol, which honours trusted proxies only); helmet sees raw requests. */
const schemes = new WeakMap<IncomingMessage, string>();

/** A Host header as it may appear in a CSP source: host name or address, optional port; else nothing. */
const SAFE_HOST = /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/** The page's own socket.io endpoint: `ws(s)://<host>`. 'self' covers it in current browsers; this is for the rest. */
function ownSocket(req: IncomingMessage): string {
  const host = req.headers.host ?? '';
  if (!SAFE_HOST.test(host)) return "'self'";
  return `${schemes.get(req) === 'https' ? 'wss' : 'ws'}://${host}`;
}

/**
 * Security headers on every response (docs/security.md): a CSP that fits the app — its own
 * scripts and styles only, no inline script, no framing — plus nosniff, no referrer, and HSTS
 * only when the request came over HTTPS (directly or through a trusted proxy).
 */
export async function securityHeaders(app: FastifyInstance): Promise<void> {
  app.addHook('onRequest', async (req) => {
    schemes.set(req.raw, req.protocol);
  });
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        mediaSrc: ["'self'", 'blob:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'", (req) => ownSocket(req)],
        workerSrc: ["'self'"],
        manifestSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // Sent below, and only over HTTPS: over plain http (a LAN without certificates) it would be ignored at best.
    strictTransportSecurity: false,
    // Cross-origin isolation headers would stop nothing here and can break media devices on some browsers.
    crossOriginEmbedderPolicy: false,
  });
  app.addHook('onSend', async (req, reply) => {
    if (req.protocol === 'https') void reply.header('strict-transport-security', 'max-age=31536000; includeSubDomains');
    // The app's icons are public and drawn outside the page too (notifications, install prompts, a
    // page of another origin showing one): everything else stays same-origin.
    if (req.url.startsWith('/icons/')) void reply.header('cross-origin-resource-policy', 'cross-origin');
  });
}
