/*
 * The microphone level meter: how loud the input is, 0…1 on a decibel scale, so that speech moves
 * the bar visibly and silence keeps it near zero.
 */

/** Levels below this many dBFS show as silence. */
const FLOOR_DB = -60;

/** 0…1 from one frame of samples (-1…1): RMS in dBFS, mapped from FLOOR_DB…0. */
export function levelFromSamples(samples: ArrayLike<number>): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
  const rms = Math.sqrt(sum / samples.length);
  if (rms <= 0) return 0;
  const db = 20 * Math.log10(rms);
  return Math.min(1, Math.max(0, (db - FLOOR_DB) / -FLOOR_DB));
}

/** A level that counts as "the microphone picks up sound" (about -40 dBFS). */
export const HEARD_LEVEL = 0.33;

/** Reads a stream's audio level through an AnalyserNode. close() releases the audio context. */
export class MicLevel {
  readonly #context: AudioContext;
  readonly #analyser: AnalyserNode;
  readonly #buffer: Float32Array<ArrayBuffer>;

  constructor(stream: MediaStream) {
    this.#context = new AudioContext();
    const source = this.#context.createMediaStreamSource(stream);
    this.#analyser = this.#context.createAnalyser();
    this.#analyser.fftSize = 1024;
    this.#buffer = new Float32Array(this.#analyser.fftSize);
    source.connect(this.#analyser);
    // Started from a click ("Run the test"), so the page may make an audio context run.
    void this.#context.resume().catch(() => undefined);
  }

  read(): number {
    this.#analyser.getFloatTimeDomainData(this.#buffer);
    return levelFromSamples(this.#buffer);
  }

  close(): void {
    void this.#context.close().catch(() => undefined);
  }
}
