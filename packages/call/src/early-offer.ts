import type { CallError } from './errors.ts';
import type { LocalDescription } from './peer.ts';
import type { OutgoingCallSignal } from './session-types.ts';
import type { CallState } from './states.ts';
import type { IceCandidateInit, Logger, RemoteDescription } from './webrtc.ts';

/** At most this many local candidates are held before the answer (a browser gathers a handful). */
const MAX_HELD = 200;

/**
 * Local ICE candidates that cannot be sent yet: the caller's, gathered with the offer that goes in
 * the invite, until a device answers; the callee's, until its `call.accept` (which carries the
 * answer) has left. The ones already written into the SDP that went out are not sent again.
 */
export class HeldCandidates {
  #held: (IceCandidateInit | null)[] = [];
  #inSdp = new Set<string>();
  /** Gathering finished (the null candidate came). */
  complete = false;

  hold(candidate: IceCandidateInit | null): void {
    if (candidate === null) this.complete = true;
    if (this.#held.length < MAX_HELD) this.#held.push(candidate);
  }

  /** `sdp` went to the peer: the candidates in it need no call.ice of their own. */
  sentWith(sdp: string): void {
    for (const line of candidateLines(sdp)) this.#inSdp.add(line);
  }

  /** What is left to send, in order (the end-of-candidates null included); empties the hold. */
  drain(): (IceCandidateInit | null)[] {
    const out = this.#held.filter((c) => c === null || !this.#inSdp.has(c.candidate.trim()));
    this.#held = [];
    return out;
  }
}

/** The `candidate:` lines of an SDP (without the `a=`), as RTCIceCandidate.candidate spells them. */
export function candidateLines(sdp: string): string[] {
  return Array.from(sdp.matchAll(/^a=(candidate:[^\r\n]+)/gm), (m) => (m[1] ?? '').trim());
}

/** The part of a media path the hand-off drives. */
export interface HandoffPath {
  readonly pendingOffer: string | null;
  applyDescription(description: RemoteDescription): void;
  answered(): void;
}

/** What the hand-off needs from its session. */
export interface HandoffHost {
  log(): Logger;
  state(): CallState;
  path(): HandoffPath | null;
  /** Closes and forgets the path made for the invite (its offer failed). */
  dropPath(): void;
  send(signal: OutgoingCallSignal): void;
  ids(): { callId: string; deviceId: string };
  /** The invite to send (null once the call is over). */
  invite(): Extract<OutgoingCallSignal, { type: 'call.invite' }>['payload'] | null;
  /** The offer or its answer failed before the server knew: decline (callee). */
  declineFailed(): void;
}

/**
 * The SDP hand-off of a call's first negotiation (docs/decisions/008-offer-in-invite.md), as
 * Matrix does it: the caller makes and gathers its offer before the invite and sends it in the
 * invite; the callee that answers answers that offer in its `call.accept`, so after the Answer
 * click one message is enough. Candidates without anyone to go to are held meanwhile. Either side
 * falls back to the old order (the offer after the accept) when the other has no offer to give
 * or take: an older app, a glare merge, an offer that could not be made.
 */
export class OfferHandoff {
  readonly #host: HandoffHost;
  #held = new HeldCandidates();
  /** Caller: call.invite has left. */
  #invited = false;
  /** Caller: the path made its first offer before the answer. */
  #offerMade = false;
  /** Callee: the caller's offer from the invite, for accept(). */
  #inviteOffer: string | null = null;
  /** Callee: answering the invite's offer; call.accept leaves with the answer once it is made. */
  #acceptPending = false;

  constructor(host: HandoffHost) {
    this.#host = host;
  }

  /** Whether the server knows of the call from this side (a caller's invite may not have left yet). */
  get announced(): boolean {
    return this.#invited;
  }

  /** Caller: the invite leaves, with the offer and the candidates gathered so far when there is one. */
  sendInvite(): void {
    const payload = this.#invited ? null : this.#host.invite();
    if (!payload) return;
    this.#invited = true;
    const offer = this.#host.path()?.pendingOffer ?? null;
    if (offer !== null) this.#held.sentWith(offer);
    else this.#host.log().info('The invite leaves without an offer: the offer follows the answer');
    this.#host.send({ type: 'call.invite', payload: offer !== null ? { ...payload, offer } : payload });
  }

  /** Callee: the invite's offer (undefined: the caller sent none). */
  ringing(offer: string | undefined): void {
    this.#inviteOffer = offer ?? null;
  }

  /**
   * Callee, on accept(): with an offer from the invite the path answers it and call.accept waits
   * for that answer (true); without one call.accept leaves now (false) and the offer follows.
   */
  accept(path: HandoffPath): boolean {
    const offer = this.#inviteOffer;
    this.#inviteOffer = null;
    if (offer === null) return false;
    this.#acceptPending = true;
    path.applyDescription({ type: 'offer', sdp: offer });
    return true;
  }

  /** Caller, on call.accept: apply the answer it carries, or send our offer now; then the held candidates. */
  remoteAccept(path: HandoffPath, answer: string | undefined): void {
    path.answered();
    if (answer !== undefined) {
      path.applyDescription({ type: 'answer', sdp: answer });
    } else if (this.#offerMade) {
      // This device answered without our offer (an older app, a glare merge): it gets it now.
      const offer = path.pendingOffer;
      if (offer !== null) {
        this.#held.sentWith(offer);
        this.#host.send({ type: 'call.offer', payload: { ...this.#host.ids(), sdp: offer } });
      }
    }
    this.#sendHeld();
  }

  /** A local candidate: sent when the call is answered and its accept is out, held before. */
  candidate(candidate: IceCandidateInit | null, answered: boolean): void {
    if (answered && !this.#acceptPending) {
      this.#host.send({ type: 'call.ice', payload: { ...this.#host.ids(), candidate } });
      return;
    }
    this.#held.hold(candidate);
    if (candidate === null && this.#offerMade) this.sendInvite();
  }

  /** A local description of the first negotiation; true when it was the hand-off's to send (or hold). */
  description(description: LocalDescription): boolean {
    if (this.#host.state() === 'outgoing' && description.type === 'offer' && !this.#invited) {
      // The offer for the invite: it leaves once gathered (or at offerGatherMs).
      this.#offerMade = true;
      if (this.#held.complete) this.sendInvite();
      return true;
    }
    if (this.#host.state() === 'outgoing' && description.type === 'offer') {
      // Made while ringing (after the invite left): it goes after the accept.
      this.#offerMade = true;
      return true;
    }
    if (!this.#acceptPending || description.type !== 'answer') return false;
    this.#acceptPending = false;
    this.#held.sentWith(description.sdp);
    this.#host.send({ type: 'call.accept', payload: { ...this.#host.ids(), answer: description.sdp } });
    this.#sendHeld();
    return true;
  }

  /**
   * The offer for the invite, or the answer to it, could not be made. A caller sends its invite
   * without an offer and negotiates after the answer on a new path; a callee declines, since the
   * server still has it ringing. True when handled here.
   */
  negotiationFailed(error: CallError): boolean {
    if (this.#host.state() === 'outgoing' && !this.#invited) {
      this.#host.log().warn(`could not make the offer for the invite (${error.message}); it follows the answer instead`);
      this.#host.dropPath();
      this.#offerMade = false;
      this.#held = new HeldCandidates();
      this.sendInvite();
      return true;
    }
    if (!this.#acceptPending) return false;
    this.#acceptPending = false;
    this.#host.declineFailed();
    return true;
  }

  #sendHeld(): void {
    const held = this.#held.drain();
    if (held.length > 0) this.#host.log().debug(`Sending ${held.length} ICE candidates held until the answer`);
    for (const candidate of held) this.#host.send({ type: 'call.ice', payload: { ...this.#host.ids(), candidate } });
  }
}
