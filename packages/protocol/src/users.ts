import { z } from 'zod';
import { Email, Id, LIMITS, Password, PersonName, Role } from './common.ts';

/** A person as other people see them. */
export const PublicUser = z.object({
  id: Id,
  name: z.string(),
  email: z.string(),
  role: Role,
  active: z.boolean(),
  /** True while at least one of the person's devices is connected. */
  online: z.boolean(),
});
export type PublicUser = z.infer<typeof PublicUser>;

export const LoginRequest = z.strictObject({
  email: Email,
  password: z.string().min(1, 'must not be empty').max(LIMITS.passwordMax),
});
export type LoginRequest = z.infer<typeof LoginRequest>;

export const MeResponse = z.object({ user: PublicUser });
export type MeResponse = z.infer<typeof MeResponse>;

export const SearchUsersQuery = z.strictObject({
  q: z.string().trim().max(LIMITS.searchQueryMax).default(''),
});

export const UsersResponse = z.object({ users: z.array(PublicUser) });
export type UsersResponse = z.infer<typeof UsersResponse>;

export const CreateUserRequest = z.strictObject({
  name: PersonName,
  email: Email,
  role: Role,
  password: Password,
});
export type CreateUserRequest = z.infer<typeof CreateUserRequest>;

export const UpdateUserRequest = z
  .strictObject({
    name: PersonName.optional(),
    role: Role.optional(),
    active: z.boolean().optional(),
  })
  .refine((v) => v.name !== undefined || v.role !== undefined || v.active !== undefined, {
    message: 'name, role or active is required',
  });
export type UpdateUserRequest = z.infer<typeof UpdateUserRequest>;

export const ResetPasswordRequest = z.strictObject({ password: Password });
export type ResetPasswordRequest = z.infer<typeof ResetPasswordRequest>;

/** POST /api/auth/password: a signed-in person changes their own password. */
export const ChangePasswordRequest = z.strictObject({
  currentPassword: z.string().min(1, 'must not be empty').max(LIMITS.passwordMax),
  newPassword: Password,
});
export type ChangePasswordRequest = z.infer<typeof ChangePasswordRequest>;

export const UserIdParams = z.strictObject({ id: Id });
