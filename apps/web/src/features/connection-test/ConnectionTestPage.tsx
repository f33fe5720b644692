import { useEffect, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import { TURN_AUTH_TEXT } from './candidates.ts';
import { browserConnectionTestDeps, ConnectionTest, type ConnectionTestState } from './connectionTest.ts';
import { HEARD_LEVEL, MicLevel } from './micLevel.ts';
import { kindRows, relayRttText, ROW_STATE_TEXT, turnUrlLine } from './presentation.ts';
import { reportFileName } from './report.ts';
import type { Level } from './verdict.ts';

const LEVEL_LABEL: Record<Level, string> = { good: 'OK', warning: 'Warning', bad: 'Problem' };

/** "Test my connection" (#/connection-test): what works from this device and network, in plain words. */
export function ConnectionTestPage() {
  const [test] = useState(() => new ConnectionTest(browserConnectionTestDeps()));
  useEffect(() => () => test.dispose(), [test]);
  const state = useSyncExternalStore(test.subscribe, test.getSnapshot);
  const running = state.status === 'running';

  function download() {
    const report = test.report();
    if (!report) return;
    const blob = new Blob([JSON.stringify(report, null, 2)], { type: 'application/json' });
    const url = URL.createObjectURL(blob);
    const link = document.createElement('a');
    link.href = url;
    link.download = reportFileName(new Date());
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1_000);
  }

  return (
    <main className="connection-test">
      <div className="connection-test-inner">
        <header className="page-header">
          <h1>Test my connection</h1>
          <p>
            Checks your camera and microphone, and whether calls can get through the network you are on. Nobody is called and
            nothing is recorded.
          </p>
        </header>

        <div className="connection-test-actions">
          <button type="button" className="button-primary" onClick={() => void test.run()} disabled={running}>
            {state.status === 'done' ? 'Run again' : 'Run the test'}
          </button>
          <button type="button" className="button-secondary" onClick={download} disabled={state.status !== 'done'}>
            Download report
          </button>
          <p className="connection-test-progress" role="status">
            {running ? 'Testing… this takes up to 20 seconds.' : state.status === 'done' ? 'Test finished.' : ''}
          </p>
        </div>

        <div className="connection-test-grid">
          <MediaCard state={state} onStop={() => test.stopMedia()} />
          <Results state={state} />
        </div>
      </div>
    </main>
  );
}

function Results({ state }: { state: ConnectionTestState }) {
  const { network, relayRtt, verdict } = state;
  return (
    <section className="card connection-results" aria-label="Results" aria-busy={state.status === 'running'}>
      <h2 className="card-title">Results</h2>
      {state.status === 'idle' && <p className="connection-muted">Press “Run the test” to start.</p>}

      {verdict && (
        <div className={`verdict is-${verdict.level}`}>
          <p className="verdict-headline">{verdict.headline}</p>
          <ul className="verdict-findings">
            {verdict.findings
              .filter((f) => f.text !== verdict.headline)
              .map((f) => (
                <li key={f.text} className={`is-${f.level}`}>
                  <span className="sr-only">{LEVEL_LABEL[f.level]}: </span>
                  {f.text}
                </li>
              ))}
          </ul>
        </div>
      )}

      {state.status !== 'idle' && (
        <dl className="checks">
          <Check term="Network addresses">
            {network.status === 'running' && !network.gathering ? (
              'Gathering… (up to 10 s)'
            ) : network.error ? (
              <span className="is-bad">{network.error}</span>
            ) : network.found ? (
              <ul className="kind-list">
                {kindRows(network.found, network.urls).map((row) => (
                  <li key={row.label} className={`is-${row.state}`}>
                    <span className="kind-mark" aria-hidden="true" />
                    {row.label}: {ROW_STATE_TEXT[row.state]}
                  </li>
                ))}
              </ul>
            ) : (
              '—'
            )}
          </Check>
          <Check term="Relay (TURN) server">
            {network.turn ? (
              <>
                <span className={network.turn === 'ok' ? 'is-good' : network.turn === 'not_configured' ? '' : 'is-bad'}>{TURN_AUTH_TEXT[network.turn]}</span>
                {network.turnUrls.length > 0 && (
                  <ul className="url-list">
                    {network.turnUrls.map((r) => (
                      <li key={r.url}>{turnUrlLine(r)}</li>
                    ))}
                  </ul>
                )}
              </>
            ) : network.status === 'running' ? (
              'Checking…'
            ) : (
              '—'
            )}
          </Check>
          <Check term="Round trip to the relay">
            {relayRtt.result ? relayRttText(relayRtt.result) : relayRtt.status === 'running' ? 'Measuring… (up to 6 s)' : network.status === 'running' ? 'Waiting…' : '—'}
          </Check>
        </dl>
      )}

      {network.gathering && network.gathering.candidates.length > 0 && (
        <details className="candidate-details">
          <summary>Technical details: {network.gathering.candidates.length} candidates</summary>
          <div className="candidate-scroll">
            <table className="candidate-table">
              <thead>
                <tr>
                  <th scope="col">Type</th>
                  <th scope="col">Protocol</th>
                  <th scope="col">Address</th>
                  <th scope="col">Server</th>
                  <th scope="col">After</th>
                </tr>
              </thead>
              <tbody>
                {network.gathering.candidates.map((c, i) => (
                  <tr key={i}>
                    <td>{c.type}</td>
                    <td>{c.type === 'relay' ? `${c.relayProtocol ?? '?'} to relay` : (c.protocol ?? '?')}</td>
                    <td>{c.address ? `${c.address}${c.port ? `:${c.port}` : ''}` : '—'}</td>
                    <td>{c.url ?? '—'}</td>
                    <td>{c.atMs} ms</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      )}
    </section>
  );
}

function Check({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div className="check">
      <dt>{term}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function MediaCard({ state, onStop }: { state: ConnectionTestState; onStop: () => void }) {
  const { media, stream } = state;
  const camera = media.findings?.camera;
  const microphone = media.findings?.microphone;
  const hasVideo = stream?.getVideoTracks().some((t) => t.readyState === 'live') ?? false;
  const hasAudio = stream?.getAudioTracks().some((t) => t.readyState === 'live') ?? false;
  return (
    <section className="card media-check" aria-labelledby="media-check-title">
      <h2 id="media-check-title" className="card-title">
        Camera and microphone
      </h2>
      <div className="preview">
        {hasVideo ? <Preview stream={stream!} /> : <div className="preview-off">{media.status === 'running' ? 'Starting camera…' : 'Camera off'}</div>}
      </div>
      <dl className="checks">
        <Check term="Camera">
          {media.status === 'running' ? 'Checking…' : camera ? camera.ok ? <span className="is-good">Works ({camera.label})</span> : <span className="is-bad">{camera.message}</span> : '—'}
        </Check>
        <Check term="Microphone">
          {media.status === 'running' ? (
            'Checking…'
          ) : microphone ? (
            microphone.ok ? (
              <span className="is-good">Works ({microphone.label})</span>
            ) : (
              <span className="is-bad">{microphone.message}</span>
            )
          ) : (
            '—'
          )}
        </Check>
      </dl>
      {hasAudio && <LevelMeter stream={stream!} />}
      {stream && (
        <button type="button" className="button-secondary" onClick={onStop}>
          Turn off camera and microphone
        </button>
      )}
    </section>
  );
}

function Preview({ stream }: { stream: MediaStream }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const video = ref.current;
    if (!video) return;
    video.srcObject = stream;
    video.play().catch(() => undefined);
    return () => {
      video.srcObject = null;
    };
  }, [stream]);
  return <video ref={ref} className="preview-video" aria-label="Camera preview" autoPlay playsInline muted />;
}

/** The microphone's level, drawn straight to the DOM (a React render per animation frame would be waste). */
function LevelMeter({ stream }: { stream: MediaStream }) {
  const meterRef = useRef<HTMLDivElement>(null);
  const barRef = useRef<HTMLDivElement>(null);
  const [heard, setHeard] = useState(false);

  useEffect(() => {
    let level: MicLevel;
    try {
      level = new MicLevel(stream);
    } catch {
      return;
    }
    let frame = 0;
    let last = 0;
    const draw = (at: number) => {
      frame = requestAnimationFrame(draw);
      if (at - last < 80) return;
      last = at;
      const value = level.read();
      const pct = Math.round(value * 100);
      if (barRef.current) barRef.current.style.width = `${pct}%`;
      meterRef.current?.setAttribute('aria-valuenow', String(pct));
      if (value >= HEARD_LEVEL) setHeard(true);
    };
    frame = requestAnimationFrame(draw);
    return () => {
      cancelAnimationFrame(frame);
      level.close();
    };
  }, [stream]);

  return (
    <div className="level">
      <div ref={meterRef} className="level-meter" role="meter" aria-label="Microphone level" aria-valuemin={0} aria-valuemax={100} aria-valuenow={0}>
        <div ref={barRef} className="level-bar" />
      </div>
      <p className="connection-muted">{heard ? 'Sound picked up.' : 'Say something: the bar should move.'}</p>
    </div>
  );
}
