import { describe, expect, it } from 'vitest';
import { deviceConstraint, listDevices, selectedDevice } from './devices.ts';

const info = (kind: string, deviceId: string, label = '') => ({ kind, deviceId, label });

describe('listDevices', () => {
  it('lists microphones and cameras with their labels, without duplicates or aliases', () => {
    const lists = listDevices([
      info('audioinput', 'default', 'Default - Headset'),
      info('audioinput', 'communications', 'Communications - Headset'),
      info('audioinput', 'mic-1', 'Headset'),
      info('audioinput', 'mic-1', 'Headset'),
      info('audiooutput', 'spk-1', 'Speakers'),
      info('videoinput', 'cam-1', 'Built-in camera'),
      info('videoinput', 'cam-2', ''),
    ]);
    expect(lists.microphones).toEqual([
      { id: 'default', label: 'Default - Headset' },
      { id: 'mic-1', label: 'Headset' },
    ]);
    expect(lists.cameras).toEqual([
      { id: 'cam-1', label: 'Built-in camera' },
      { id: 'cam-2', label: 'Camera 2' },
    ]);
  });

  it('offers the default device before any permission was granted (no ids, no labels)', () => {
    const lists = listDevices([info('audioinput', ''), info('videoinput', ''), info('videoinput', '')]);
    expect(lists.microphones).toEqual([{ id: '', label: 'Default microphone' }]);
    expect(lists.cameras).toEqual([{ id: '', label: 'Default camera' }]);
  });

  it('lists nothing when there is no such device', () => {
    expect(listDevices([info('audioinput', 'mic-1', 'Mic')]).cameras).toEqual([]);
  });
});

describe('selectedDevice', () => {
  const options = [
    { id: 'a', label: 'A' },
    { id: 'b', label: 'B' },
  ];

  it('prefers the chosen device, then the one in use, then the first', () => {
    expect(selectedDevice(options, 'b', 'a')).toBe('b');
    expect(selectedDevice(options, null, 'b')).toBe('b');
    expect(selectedDevice(options, null, null)).toBe('a');
  });

  it('forgets a chosen device that was unplugged', () => {
    expect(selectedDevice(options, 'gone', null)).toBe('a');
    expect(selectedDevice(options, 'gone', 'b')).toBe('b');
    expect(selectedDevice([], 'gone', null)).toBeNull();
  });
});

describe('deviceConstraint', () => {
  it('asks for the chosen device, falling back to the default if it is gone', () => {
    expect(deviceConstraint('cam-1', { width: { ideal: 1280 } })).toEqual({ width: { ideal: 1280 }, deviceId: { ideal: 'cam-1' } });
    expect(deviceConstraint(null)).toBe(true);
    expect(deviceConstraint('')).toBe(true);
    expect(deviceConstraint(null, { width: { ideal: 1280 } })).toEqual({ width: { ideal: 1280 } });
  });
});
