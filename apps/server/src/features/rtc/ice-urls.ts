/**
 * ICE server URLs as RFC 7064 (stun:, stuns:) and RFC 7065 (turn:, turns:) define them:
 * `scheme:host[:port]`, and for TURN an optional `?transport=udp|tcp`. Anything else is refused at
 * boot, because a browser given a malformed URL throws when the RTCPeerConnection is created — a
 * call that fails on every device, long after the operator made the typo.
 */
const HOST = String.raw`(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)`;
const PORT = String.raw`(?::(?:6553[0-5]|655[0-2]\d|65[0-4]\d\d|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3}))?`;
const STUN = new RegExp(`^stuns?:${HOST}${PORT}$`);
const TURN = new RegExp(`^turns?:${HOST}${PORT}(?:\\?transport=(?:udp|tcp))?$`);

export function iceUrlProblem(url: string, kind: 'stun' | 'turn'): string | undefined {
  if (url === '') return 'an empty URL';
  const ok = kind === 'stun' ? STUN.test(url) : TURN.test(url);
  if (ok) return undefined;
  return kind === 'stun'
    ? `"${url}" is not a STUN URL (stun:host[:port] or stuns:host[:port])`
    : `"${url}" is not a TURN URL (turn:host[:port][?transport=udp|tcp] or turns:…)`;
}

/** Splits a comma-separated list; an empty or blank variable is an empty list, an empty entry is an error. */
export function splitUrls(value: string): string[] {
  if (value.trim() === '') return [];
  return value.split(',').map((s) => s.trim());
}
