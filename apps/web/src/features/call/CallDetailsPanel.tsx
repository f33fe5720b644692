import type { CallDetails } from './quality.ts';
import { formatBitrate, formatDelay, formatPercent, pathText, protocolText } from './quality.ts';

interface CallDetailsPanelProps {
  id: string;
  details: CallDetails | null;
}

const NONE = '—';

/** "Call details": how the media travels right now, refreshed every second by the controller. */
export function CallDetailsPanel({ id, details }: CallDetailsPanelProps) {
  return (
    <div id={id} className="call-details" role="group" aria-label="Connection details">
      {details === null ? (
        <p className="call-details-empty">Measuring once the call is connected…</p>
      ) : (
        <dl className="call-details-list">
          <Row term="Path" value={details.path ? pathText(details.path) : NONE} />
          <Row term="Protocol" value={details.protocol ? protocolText(details.protocol) : NONE} />
          <Row term="Round trip" value={details.rttMs !== null ? formatDelay(details.rttMs) : NONE} />
          <Row term="Packet loss" value={details.lossPct !== null ? formatPercent(details.lossPct) : NONE} />
          <Row term="Bitrate in" value={details.inKbps !== null ? formatBitrate(details.inKbps) : NONE} />
          <Row term="Bitrate out" value={details.outKbps !== null ? formatBitrate(details.outKbps) : NONE} />
        </dl>
      )}
    </div>
  );
}

function Row({ term, value }: { term: string; value: string }) {
  return (
    <div className="call-details-row">
      <dt>{term}</dt>
      <dd>{value}</dd>
    </div>
  );
}
