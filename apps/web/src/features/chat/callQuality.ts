import type { CallQuality } from '@parley/protocol';

/**
 * The second line of an answered call's history entry: how its media travelled, as a device
 * measured it ("Relayed (TURN) · UDP · 48 ms · 0.2 % loss"). The same for both sides of the call.
 */
export function describeCallQuality(quality: CallQuality): string {
  const parts = [quality.path === 'relay' ? 'Relayed (TURN)' : 'Direct', quality.protocol.toUpperCase()];
  if (quality.rttMs !== null) parts.push(`${Math.round(quality.rttMs)} ms`);
  if (quality.lossPct !== null) parts.push(`${percent(quality.lossPct)} loss`);
  // The engine's media watchdog saw media go one way only (it says which side did not receive).
  if (quality.oneWay) parts.push('one-way media');
  return parts.join(' · ');
}

function percent(pct: number): string {
  if (pct === 0) return '0 %';
  if (pct < 10) return `${Number(pct.toFixed(1))} %`;
  return `${Math.round(pct)} %`;
}
