import type { CallError } from './errors.ts';
import type { LocalDescription } from './peer.ts';
import type { OutgoingCallSignal } from './session-types.ts';
import type { CallState } from './states.ts';
import type { IceCandidateInit, Logger, RemoteDescription } from './webrtc.ts';

/** At most this many local candidates are held before the answer (a browser gathers a handful). */
const MAX_HELD = 200;

/**
 * Local ICE candidates that cannot be sent yet: the caller's until its invite (with the offer) has
 * left; the callee's until its `call.accept` (which carries the answer) has left. The ones already
 * written into the SDP that went out are not sent again.
 */
export class HeldCandidates {
  #held: (IceCandidateInit | null)[] = [];
  #inSdp = new Set<string>();
  hold(candidate: IceCandidateInit | null): void {
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
 * The SDP hand-off of a call's first negotiation (docs/decisions/009-offer-in-invite.md), as
 * Matrix does it: the caller makes its offer before the invite and sends it in the invite; its
 * candidates trickle after it while it rings (the server hands them to every ringing device); the
 * callee that answers answers that offer in its `call.accept`, so after the Answer click one
 * message is enough. Candidates without anyone to go to are held meanwhile. Either side falls back
 * to the old order (the offer after the accept) when the other has no offer to give or take: an
 * older app, a glare merge, an offer that could not be made.
 */
export class OfferHandoff {
  readonly #host: HandoffHost;
  #held = new HeldCandidates();
  /** Caller: call.invite has left. */
  #invited = false;
  /** Caller: the path made its first offer before the answer. */
  #offerMade = false;
  /** Caller: that offer went with the invite (so its candidates may follow while it rings). */
  #offerSent = false;
  /** Callee: the caller's offer from the invite, for accept(). */
  #inviteOffer: string | null = null;
  /** Callee: answering the invite's offer; call.accept leaves with the answer once it is made. */
  #acceptPending = false;
  /** Caller: the candidates sent while it rang, for the device that answers (see remoteAccept). */
  #trickled: (IceCandidateInit | null)[] = [];
  /** Callee: the caller's candidates given to the path once (JSON), to skip their repeat. */
  #given: Set<string> | null = null;

  constructor(host: HandoffHost) {
    this.#host = host;
  }

  /** Whether the server knows of the call from this side (a caller's invite may not have left yet). */
  get announced(): boolean {
    return this.#invited;
  }

  /**
   * Caller: the invite leaves, with the offer when there is one; the candidates found so far follow
   * it at once (the server handles one socket's events in order, so they find the call ringing).
   */
  sendInvite(): void {
    const payload = this.#invited ? null : this.#host.invite();
    if (!payload) return;
    this.#invited = true;
    const offer = this.#host.path()?.pendingOffer ?? null;
    if (offer !== null) this.#held.sentWith(offer);
    else this.#host.log().info('The invite leaves without an offer: the offer follows the answer');
    this.#host.send({ type: 'call.invite', payload: offer !== null ? { ...payload, offer } : payload });
    this.#offerSent = offer !== null;
    if (this.#offerSent) for (const candidate of this.#held.drain()) this.#trickle(candidate);
  }

  /** Callee: the invite's offer (undefined: the caller sent none). */
  ringing(offer: string | undefined): void {
    this.#inviteOffer = offer ?? null;
    this.#given = new Set();
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

  /**
   * Caller, on call.accept: apply the answer it carries, or send our offer now; then the held
   * candidates, and again those sent while it rang: the answering device may have connected after
   * they went (a phone woken by a push), and one it already has is simply known twice.
   */
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
    const trickled = this.#trickled;
    this.#trickled = [];
    for (const candidate of trickled) this.#host.send({ type: 'call.ice', payload: { ...this.#host.ids(), candidate } });
    this.#sendHeld();
  }

  /**
   * A local candidate: the caller's goes once its invite (with the offer) is out, also while it
   * rings; the callee's once the call is answered and its accept is out. Held before.
   */
  candidate(candidate: IceCandidateInit | null, answered: boolean): void {
    const ringing = this.#host.state() === 'outgoing';
    if (ringing && this.#offerSent) {
      this.#trickle(candidate);
      return;
    }
    if (answered && !this.#acceptPending) {
      this.#host.send({ type: 'call.ice', payload: { ...this.#host.ids(), candidate } });
      return;
    }
    this.#held.hold(candidate);
  }

  /** A local description of the first negotiation; true when it was the hand-off's to send (or hold). */
  description(description: LocalDescription): boolean {
    if (this.#host.state() === 'outgoing' && description.type === 'offer' && !this.#invited) {
      // The offer for the invite: it leaves now; its candidates trickle after it.
      this.#offerMade = true;
      this.sendInvite();
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

  /**
   * Callee: whether a remote candidate is the repeat of one already given, which the caller sends
   * again after the accept (see remoteAccept): skipped once, so a later one (an ICE restart's) goes.
   */
  repeated(candidate: IceCandidateInit | null): boolean {
    const given = this.#given;
    if (given === null) return false;
    const key = JSON.stringify(candidate);
    if (given.delete(key)) return true;
    if (given.size < MAX_HELD) given.add(key);
    return false;
  }

  /** Caller, while it rings: to every ringing device, and kept for the one that answers. */
  #trickle(candidate: IceCandidateInit | null): void {
    if (this.#trickled.length < MAX_HELD) this.#trickled.push(candidate);
    this.#host.send({ type: 'call.ice', payload: { ...this.#host.ids(), candidate } });
  }

  #sendHeld(): void {
    const held = this.#held.drain();
    if (held.length > 0) this.#host.log().debug(`Sending ${held.length} ICE candidates held until the answer`);
    for (const candidate of held) this.#host.send({ type: 'call.ice', payload: { ...this.#host.ids(), candidate } });
  }
}
