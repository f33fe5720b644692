import { useId, useRef, useState, type FormEvent } from 'react';
import { CreateUserRequest, LIMITS, ROLES, type PublicUser, type Role } from '@parley/protocol';
import { ROLE_LABELS } from '../../lib/format.ts';
import { errorMessage, RequestError } from '../../lib/http.ts';
import { createUser } from './adminApi.ts';
import { fieldErrors } from './users.ts';

interface CreateUserFormProps {
  onCreated: (user: PublicUser) => void;
}

type Field = 'name' | 'email' | 'role' | 'password';

const EMPTY = { name: '', email: '', role: 'nurse' as Role, password: '' };

export function CreateUserForm({ onCreated }: CreateUserFormProps) {
  const id = useId();
  const formRef = useRef<HTMLFormElement>(null);
  const [values, setValues] = useState(EMPTY);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  const set = (field: Field, value: string) => setValues((v) => ({ ...v, [field]: value }));

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (pending) return;
    setCreated(null);
    setFormError(null);
    const parsed = CreateUserRequest.safeParse(values);
    if (!parsed.success) {
      setErrors(fieldErrors(parsed.error.issues));
      focusFirstInvalid();
      return;
    }
    setErrors({});
    setPending(true);
    try {
      const user = await createUser(parsed.data);
      onCreated(user);
      setValues(EMPTY);
      setCreated(`${user.name} can now sign in with the initial password.`);
    } catch (err) {
      setFormError(errorMessage(err));
      if (err instanceof RequestError) setErrors(err.fields);
    } finally {
      setPending(false);
    }
  }

  function focusFirstInvalid() {
    // After React has rendered the aria-invalid attributes.
    requestAnimationFrame(() => formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
  }

  const fieldProps = (field: Field) => ({
    id: `${id}-${field}`,
    'aria-invalid': errors[field] ? true : undefined,
    'aria-describedby': errors[field] ? `${id}-${field}-error` : undefined,
  });
  const fieldError = (field: Field) =>
    errors[field] ? (
      <span id={`${id}-${field}-error`} className="field-error">
        {errors[field]}
      </span>
    ) : null;

  return (
    <section className="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} className="card-title">
        Add a person
      </h2>
      <form ref={formRef} className="create-user" aria-label="Create user" onSubmit={(e) => void onSubmit(e)} noValidate>
        <div className="field">
          <label htmlFor={`${id}-name`}>Name</label>
          <input {...fieldProps('name')} autoComplete="off" maxLength={LIMITS.nameMax} value={values.name} onChange={(e) => set('name', e.target.value)} />
          {fieldError('name')}
        </div>
        <div className="field">
          <label htmlFor={`${id}-email`}>Email</label>
          <input
            {...fieldProps('email')}
            type="email"
            autoComplete="off"
            autoCapitalize="off"
            spellCheck={false}
            maxLength={LIMITS.emailMax}
            value={values.email}
            onChange={(e) => set('email', e.target.value)}
          />
          {fieldError('email')}
        </div>
        <div className="field">
          <label htmlFor={`${id}-role`}>Role</label>
          <select {...fieldProps('role')} value={values.role} onChange={(e) => set('role', e.target.value)}>
            {ROLES.map((role) => (
              <option key={role} value={role}>
                {ROLE_LABELS[role]}
              </option>
            ))}
          </select>
          {fieldError('role')}
        </div>
        <div className="field">
          <label htmlFor={`${id}-password`}>Initial password</label>
          <input
            {...fieldProps('password')}
            type="password"
            autoComplete="new-password"
            maxLength={LIMITS.passwordMax}
            value={values.password}
            onChange={(e) => set('password', e.target.value)}
          />
          {fieldError('password') ?? <span className="field-hint">At least {LIMITS.passwordMin} characters.</span>}
        </div>
        <div className="create-user-actions">
          <button type="submit" className="button-primary" disabled={pending}>
            Create user
          </button>
        </div>
      </form>
      {formError && (
        <p className="form-error" role="alert">
          {formError}
        </p>
      )}
      {created && (
        <p className="form-success" role="status">
          {created}
        </p>
      )}
    </section>
  );
}
