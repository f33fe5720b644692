import { describe, expect, it } from 'vitest';
import { avatarHue, dayLabel, initials } from './format.ts';

describe('initials', () => {
  it('takes the first and last word', () => {
    expect(initials('Nina van Dijk')).toBe('ND');
    expect(initials('  dr. Omar  ')).toBe('DO');
    expect(initials('cher')).toBe('C');
  });
  it('copes with empty and symbol-only names', () => {
    expect(initials('')).toBe('?');
    expect(initials('— —')).toBe('?');
    expect(initials('Élodie Ørsted')).toBe('ÉØ');
  });
});

describe('avatarHue', () => {
  it('is stable and within the palette band', () => {
    expect(avatarHue('a@b.c')).toBe(avatarHue('a@b.c'));
    for (const seed of ['x', 'nurse@clinic.test', '']) {
      expect(avatarHue(seed)).toBeGreaterThanOrEqual(170);
      expect(avatarHue(seed)).toBeLessThan(240);
    }
  });
});

describe('dayLabel', () => {
  const now = new Date(2025, 2, 12, 10, 0);
  it('names today and yesterday', () => {
    expect(dayLabel(new Date(2025, 2, 12, 8, 0).toISOString(), now)).toBe('Today');
    expect(dayLabel(new Date(2025, 2, 11, 23, 0).toISOString(), now)).toBe('Yesterday');
    expect(dayLabel(new Date(2025, 0, 2).toISOString(), now)).toMatch(/2025/);
  });
});
