/** The part of MediaDeviceInfo the device pickers use. */
export interface DeviceInfoLike {
  readonly deviceId: string;
  readonly kind: string;
  readonly label: string;
}

export interface DeviceOption {
  /** '' stands for "the system default" (browsers hide ids until a permission is granted). */
  id: string;
  label: string;
}

export interface DeviceLists {
  microphones: DeviceOption[];
  cameras: DeviceOption[];
}

/**
 * The microphones and cameras to offer, from enumerateDevices(). Before any permission browsers
 * list devices without ids or labels: that collapses into one "default" entry per kind. Chrome's
 * Windows-only "communications" alias duplicates a real device and is left out.
 */
export function listDevices(infos: readonly DeviceInfoLike[]): DeviceLists {
  return {
    microphones: optionsOf(infos, 'audioinput', 'Microphone'),
    cameras: optionsOf(infos, 'videoinput', 'Camera'),
  };
}

function optionsOf(infos: readonly DeviceInfoLike[], kind: string, noun: string): DeviceOption[] {
  const options: DeviceOption[] = [];
  const seen = new Set<string>();
  for (const info of infos) {
    if (info.kind !== kind || info.deviceId === 'communications' || seen.has(info.deviceId)) continue;
    seen.add(info.deviceId);
    if (info.deviceId === '') {
      options.push({ id: '', label: `Default ${noun.toLowerCase()}` });
      continue;
    }
    options.push({ id: info.deviceId, label: info.label.trim() || `${noun} ${options.length + 1}` });
  }
  return options;
}

/**
 * The device a picker shows as selected: the one the person chose, else the one in use, else the
 * first listed. Null when none is listed (the picker then says none was found).
 */
export function selectedDevice(options: readonly DeviceOption[], chosen: string | null, inUse: string | null): string | null {
  for (const id of [chosen, inUse]) {
    if (id !== null && options.some((o) => o.id === id)) return id;
  }
  return options[0]?.id ?? null;
}

/** The constraint for one kind of media: the chosen device if any, else the browser's default. */
export function deviceConstraint(
  deviceId: string | null,
  base: MediaTrackConstraints = {},
): MediaTrackConstraints | true {
  // `ideal`, not `exact`: a device unplugged since it was chosen falls back to the default
  // instead of failing the call with OverconstrainedError.
  if (deviceId) return { ...base, deviceId: { ideal: deviceId } };
  return Object.keys(base).length > 0 ? base : true;
}
