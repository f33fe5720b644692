/*
 * The call's measurements in words. The numbers come from the engine (@parley/call QualityMeter:
 * the details of the last second, the poor-connection warning, the one-way condition).
 */
import type { CallDetails, MediaPath, MediaProtocol, OneWay, QualityWarning } from '@parley/call';

export function poorConnectionText(warning: QualityWarning): string {
  const parts: string[] = [];
  if (warning.lossPct !== null) parts.push(`${formatPercent(warning.lossPct)} packet loss`);
  if (warning.rttMs !== null) parts.push(`${formatDelay(warning.rttMs)} delay`);
  return `Poor connection: ${parts.join(', ')}`;
}

/** The one-way condition the engine's media watchdog reports, plainly: who cannot hear (or see) whom. */
export function oneWayText(oneWay: OneWay, peerName: string, video: boolean): string {
  const senses = video ? 'hear or see' : 'hear';
  return oneWay === 'inbound' ? `You can't ${senses} ${peerName}` : `${peerName} can't ${senses} you`;
}

export function pathText(path: MediaPath): string {
  return path === 'relay' ? 'Relayed (TURN)' : 'Direct';
}

export function protocolText(protocol: MediaProtocol): string {
  return protocol.toUpperCase();
}

/** "48 ms", "1.4 s"; "< 1 ms" on a local network. */
export function formatDelay(ms: number): string {
  if (ms < 0.5) return '< 1 ms';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** "0 %", "0.2 %", "14 %". */
export function formatPercent(pct: number): string {
  if (pct === 0) return '0 %';
  if (pct < 10) return `${Number(pct.toFixed(1))} %`;
  return `${Math.round(pct)} %`;
}

export function formatBitrate(kbps: number): string {
  return `${Math.round(kbps)} kbit/s`;
}

export type { CallDetails };
