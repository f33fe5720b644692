/**
 * The ringtone (incoming call) and ringback (the caller hears the other side ringing), drawn with
 * WebAudio oscillators: no audio files to ship or cache.
 */
export type Tone = 'ringtone' | 'ringback';

/** What the call controller needs from a tone player (a silent one in unit tests). */
export interface TonePlayer {
  /** Plays `tone` on a loop until told otherwise; null stops. Idempotent. */
  play(tone: Tone | null): void;
}

export const silentTones: TonePlayer = { play: () => {} };

interface Burst {
  /** Seconds from the start of the cycle. */
  at: number;
  duration: number;
  frequencies: number[];
}

/** One cycle of each pattern, repeated every `period` seconds. */
const PATTERNS: Record<Tone, { period: number; bursts: Burst[]; gain: number }> = {
  // Two quick rising chirps, then a pause: noticeable without being shrill.
  ringtone: {
    period: 2.2,
    gain: 0.18,
    bursts: [
      { at: 0, duration: 0.35, frequencies: [660, 880] },
      { at: 0.45, duration: 0.35, frequencies: [740, 990] },
    ],
  },
  // The European ringback: 425 Hz, one second on, four off.
  ringback: { period: 5, gain: 0.12, bursts: [{ at: 0, duration: 1, frequencies: [425] }] },
};

type AudioContextCtor = new () => AudioContext;

/** Whether the page may start sound now (autoplay policy: after the first user interaction). */
function hasUserActivation(): boolean {
  const activation = (navigator as Navigator & { userActivation?: { hasBeenActive: boolean } }).userActivation;
  // Browsers without the API (older Safari) decide on their own; try and let resume() fail quietly.
  return activation ? activation.hasBeenActive : true;
}

export class WebAudioTones implements TonePlayer {
  #ctx: AudioContext | null = null;
  #tone: Tone | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #nodes: OscillatorNode[] = [];
  #waitingForActivation = false;

  play(tone: Tone | null): void {
    if (tone === this.#tone) return;
    this.#stopSound();
    this.#tone = tone;
    if (tone === null) return;
    if (hasUserActivation()) this.#start(tone);
    else this.#startOnActivation();
  }

  /** Releases the audio context (sign-out). */
  close(): void {
    this.play(null);
    void this.#ctx?.close().catch(() => undefined);
    this.#ctx = null;
  }

  #startOnActivation(): void {
    if (this.#waitingForActivation) return;
    this.#waitingForActivation = true;
    const events = ['pointerdown', 'keydown'] as const;
    const onActivation = () => {
      for (const e of events) window.removeEventListener(e, onActivation, true);
      this.#waitingForActivation = false;
      if (this.#tone !== null && this.#timer === null) this.#start(this.#tone);
    };
    for (const e of events) window.addEventListener(e, onActivation, true);
  }

  #start(tone: Tone): void {
    const ctx = this.#context();
    if (!ctx) return;
    void ctx.resume().catch(() => undefined);
    const pattern = PATTERNS[tone];
    const cycle = () => {
      const start = ctx.currentTime + 0.05;
      for (const burst of pattern.bursts) this.#burst(ctx, start + burst.at, burst, pattern.gain);
    };
    cycle();
    this.#timer = setInterval(cycle, pattern.period * 1000);
  }

  #burst(ctx: AudioContext, at: number, burst: Burst, level: number): void {
    const gain = ctx.createGain();
    gain.gain.setValueAtTime(0, at);
    // Short ramps in and out: no clicks.
    gain.gain.linearRampToValueAtTime(level / burst.frequencies.length, at + 0.02);
    gain.gain.setValueAtTime(level / burst.frequencies.length, at + burst.duration - 0.03);
    gain.gain.linearRampToValueAtTime(0, at + burst.duration);
    gain.connect(ctx.destination);
    for (const frequency of burst.frequencies) {
      const osc = ctx.createOscillator();
      osc.type = 'sine';
      osc.frequency.value = frequency;
      osc.connect(gain);
      osc.start(at);
      osc.stop(at + burst.duration);
      this.#nodes.push(osc);
      osc.onended = () => {
        this.#nodes = this.#nodes.filter((n) => n !== osc);
        osc.disconnect();
      };
    }
  }

  #stopSound(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    for (const osc of this.#nodes.splice(0)) {
      try {
        osc.stop();
        osc.disconnect();
      } catch {
        // Already stopped.
      }
    }
  }

  #context(): AudioContext | null {
    if (this.#ctx) return this.#ctx;
    const Ctor = (window.AudioContext ?? (window as Window & { webkitAudioContext?: AudioContextCtor }).webkitAudioContext) as
      | AudioContextCtor
      | undefined;
    if (!Ctor) return null;
    try {
      this.#ctx = new Ctor();
    } catch {
      return null;
    }
    return this.#ctx;
  }
}
