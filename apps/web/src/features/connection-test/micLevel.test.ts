import { describe, expect, it } from 'vitest';
import { HEARD_LEVEL, levelFromSamples } from './micLevel.ts';

describe('levelFromSamples', () => {
  it('maps loudness in dBFS onto 0…1', () => {
    expect(levelFromSamples(new Float32Array(512))).toBe(0);
    expect(levelFromSamples([])).toBe(0);
    // A full-scale square wave is 0 dBFS.
    expect(levelFromSamples(Array.from({ length: 512 }, (_, i) => (i % 2 ? 1 : -1)))).toBe(1);
    // -30 dBFS is half way up a 60 dB scale.
    const quiet = 10 ** (-30 / 20);
    expect(levelFromSamples(Array.from({ length: 512 }, (_, i) => (i % 2 ? quiet : -quiet)))).toBeCloseTo(0.5, 5);
    // Speech at a normal distance (about -25 dBFS) counts as heard; hiss at -70 dBFS does not.
    const speech = 10 ** (-25 / 20);
    expect(levelFromSamples([speech, -speech])).toBeGreaterThan(HEARD_LEVEL);
    expect(levelFromSamples([0.0003, -0.0003])).toBe(0);
  });
});
