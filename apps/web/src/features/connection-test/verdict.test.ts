import { describe, expect, it } from 'vitest';
import { foundKinds, type GatheredCandidate } from './candidates.ts';
import { verdict, VERDICT_TEXT, type MediaFindings, type NetworkFindings } from './verdict.ts';

const c = (type: GatheredCandidate['type'], relayProtocol: GatheredCandidate['relayProtocol'] = null): GatheredCandidate => ({
  type,
  protocol: 'udp',
  relayProtocol,
  address: null,
  port: null,
  url: null,
  atMs: 0,
});

const network = (candidates: GatheredCandidate[], turn: 'ok' | 'not_configured' | 'rejected' | 'unreachable' | 'failed', serversConfigured = true): NetworkFindings => ({
  ok: true,
  found: foundKinds(candidates),
  turn,
  serversConfigured,
});

const works: MediaFindings = { camera: { ok: true, label: 'Built-in camera' }, microphone: { ok: true, label: 'Built-in microphone' } };

describe('verdict', () => {
  it('calls a reachable relay over UDP fine for any network', () => {
    const v = verdict(network([c('host'), c('srflx'), c('relay', 'udp'), c('relay', 'tcp')], 'ok'), works);
    expect(v).toEqual({
      level: 'good',
      headline: 'Calls should work on any network',
      findings: [
        { level: 'good', text: 'Calls should work on any network' },
        { level: 'good', text: 'Camera and microphone work' },
      ],
    });
  });

  it('works through a relay over TCP or TLS only, with a note about the delay', () => {
    const v = verdict(network([c('host'), c('relay', 'tls')], 'ok'), works);
    expect(v.headline).toBe(VERDICT_TEXT.anyNetwork);
    expect(v.level).toBe('good');
    expect(v.findings[1]).toMatchObject({ level: 'warning', note: true, text: expect.stringMatching(/UDP to the relay is blocked here/) });
  });

  it('warns about strict firewalls when there is a public address but no relay, and says why', () => {
    const rejected = verdict(network([c('host'), c('srflx')], 'rejected'), works);
    expect(rejected.level).toBe('warning');
    expect(rejected.headline).toBe(
      'Calls will work on this network and with people on open networks, but may fail with people behind strict firewalls: no relay reachable',
    );
    expect(rejected.findings[1]?.text).toMatch(/^The relay rejected the credentials/);
    const none = verdict(network([c('host'), c('srflx')], 'not_configured'), works);
    expect(none.findings[1]?.text).toMatch(/No relay \(TURN\) server is configured: please ask an administrator/);
  });

  it('limits calls to this network when nothing outside could be reached', () => {
    expect(verdict(network([c('host')], 'unreachable'), works)).toMatchObject({ level: 'bad', headline: VERDICT_TEXT.sameNetworkOnly });
    expect(verdict(network([c('host')], 'not_configured', false), works)).toMatchObject({ level: 'bad', headline: VERDICT_TEXT.noServers });
    expect(verdict(network([], 'failed'), works)).toMatchObject({ level: 'bad', headline: VERDICT_TEXT.noCandidates });
  });

  it('names a missing camera or microphone in the headline', () => {
    const noCamera = verdict(network([c('host'), c('srflx'), c('relay', 'udp')], 'ok'), { ...works, camera: { ok: false, message: 'No camera found' } });
    expect(noCamera).toMatchObject({ level: 'warning', headline: 'No camera found' });
    expect(noCamera.findings.at(-1)?.text).toBe('No camera found — audio calls still work, but others will not see you.');
    const noMic = verdict(network([c('host'), c('srflx')], 'not_configured'), {
      camera: { ok: false, message: 'No camera found' },
      microphone: { ok: false, message: 'Microphone permission was denied' },
    });
    expect(noMic).toMatchObject({ level: 'bad', headline: 'Microphone permission was denied' });
  });

  it('says when the network could not be tested', () => {
    const v = verdict({ ok: false, message: 'the connection settings could not be fetched (Please sign in again.)' }, works);
    expect(v).toMatchObject({ level: 'bad', headline: 'Could not test the network: the connection settings could not be fetched (Please sign in again.)' });
  });
});
