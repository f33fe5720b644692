import { memo, useId } from 'react';
import type { DevicePicker } from './callController.ts';

interface DevicePickersProps {
  microphones: DevicePicker;
  cameras: DevicePicker;
  onMicrophone: (deviceId: string) => void;
  onCamera: (deviceId: string) => void;
  disabled?: boolean;
}

/** The "Microphone" and "Camera" selects, before answering and during a call (re-rendered only when a list, a selection or a handler changes). */
export const DevicePickers = memo(function DevicePickers({ microphones, cameras, onMicrophone, onCamera, disabled = false }: DevicePickersProps) {
  return (
    <div className="device-pickers">
      <Picker label="Microphone" none="No microphone found" picker={microphones} onChange={onMicrophone} disabled={disabled} />
      <Picker label="Camera" none="No camera found" picker={cameras} onChange={onCamera} disabled={disabled} />
    </div>
  );
});

interface PickerProps {
  label: string;
  none: string;
  picker: DevicePicker;
  onChange: (deviceId: string) => void;
  disabled: boolean;
}

function Picker({ label, none, picker, onChange, disabled }: PickerProps) {
  const id = useId();
  const empty = picker.options.length === 0;
  return (
    <div className="device-picker">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={empty ? '' : (picker.selected ?? '')} onChange={(e) => onChange(e.target.value)} disabled={disabled || empty}>
        {empty ? (
          <option value="">{none}</option>
        ) : (
          picker.options.map((o) => (
            <option key={o.id || 'default'} value={o.id}>
              {o.label}
            </option>
          ))
        )}
      </select>
    </div>
  );
}
