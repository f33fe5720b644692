import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/**
 * Fields that could carry a secret or private content. No log call writes them today (the test in
 * lib/log.test.ts proves the lines); this keeps a careless `log.info({ body })` from changing that.
 */
const SECRET_PATHS = [
  'password', '*.password', 'currentPassword', 'newPassword', '*.newPassword',
  'token', '*.token', 'cookie', 'headers.cookie', 'req.headers.cookie', 'res.headers["set-cookie"]',
  'authorization', 'headers.authorization', 'req.headers.authorization',
  'credential', '*.credential', 'sdp', '*.sdp', 'description', '*.description', 'candidate', '*.candidate',
  'body', '*.body', 'text',
];

/** Fields that carry a client's address: dropped with LOG_IPS=0. */
const ADDRESS_PATHS = [
  'ip', '*.ip', 'remoteAddress', 'remotePort', 'req.remoteAddress', 'req.remotePort', 'address', '*.address',
  'forwardedFor', 'headers["x-forwarded-for"]', 'req.headers["x-forwarded-for"]', 'headers["x-real-ip"]', 'req.headers["x-real-ip"]',
];

/** IPv4, and IPv6 with at least three colons or a `::` (so times like 12:30:45 stay). */
const ADDRESS_IN_TEXT = /\b(?:\d{1,3}\.){3}\d{1,3}\b|(?:[0-9a-f]{0,4}:){3,7}[0-9a-f]{0,4}|[0-9a-f]{0,4}(?::[0-9a-f]{1,4})*::(?:[0-9a-f]{1,4}:)*[0-9a-f]{0,4}/gi;

/** `text` with every IP address in it replaced (coturn's lines, error messages). */
export function withoutAddresses(text: string): string {
  return text.replace(ADDRESS_IN_TEXT, (m) => (m.length >= 2 && /[.:]/.test(m) && /[0-9a-f]/i.test(m) ? '[address]' : m));
}

export interface LogSettings {
  level: LoggerOptions['level'];
  /** LOG_IPS: false drops client addresses from every line. */
  ips: boolean;
}

/** pino's options for Parley's one logger (main.ts and buildApp). */
export function loggerOptions(settings: LogSettings): LoggerOptions {
  return {
    level: settings.level ?? 'info',
    redact: settings.ips ? { paths: SECRET_PATHS, censor: '[redacted]' } : { paths: [...SECRET_PATHS, ...ADDRESS_PATHS], remove: true },
    ...(settings.ips
      ? {}
      : {
          hooks: {
            // Addresses inside messages: coturn's forwarded lines, errors naming a peer.
            logMethod(args, method) {
              method.apply(this, args.map((a) => (typeof a === 'string' ? withoutAddresses(a) : a)) as Parameters<typeof method>);
            },
          },
        }),
  };
}

export function createLogger(settings: LogSettings, destination?: DestinationStream): Logger {
  return destination ? pino(loggerOptions(settings), destination) : pino(loggerOptions(settings));
}
