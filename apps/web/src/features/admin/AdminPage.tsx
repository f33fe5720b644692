import type { PublicUser } from '@parley/protocol';
import { CreateUserForm } from './CreateUserForm.tsx';
import { UserRow } from './UserRow.tsx';
import { useAdminUsers } from './useAdminUsers.ts';

interface AdminPageProps {
  me: PublicUser;
}

export function AdminPage({ me }: AdminPageProps) {
  const { users, load, put, reload } = useAdminUsers();

  return (
    <main className="admin">
      <div className="admin-inner">
        <header className="page-header">
          <h1>People and access</h1>
          <p>Create accounts for new colleagues, change roles, reset passwords and deactivate people who have left.</p>
        </header>

        <CreateUserForm onCreated={put} />

        <section className="card" aria-labelledby="admin-users-title">
          <h2 id="admin-users-title" className="card-title">
            Users
          </h2>
          {load.status === 'loading' && users.length === 0 && <p className="list-caption">Loading users…</p>}
          {load.status === 'error' && (
            <div className="list-caption">
              <p role="alert">{load.error}</p>
              <button type="button" className="button-secondary" onClick={reload}>
                Try again
              </button>
            </div>
          )}
          {users.length > 0 && (
            <div className="table-scroll">
              <table className="users-table">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Email</th>
                    <th scope="col">Role</th>
                    <th scope="col">Status</th>
                    <th scope="col">Reset password</th>
                    <th scope="col">
                      <span className="sr-only">Access</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {users.map((user) => (
                    <UserRow key={user.id} user={user} isSelf={user.id === me.id} onUpdated={put} />
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      </div>
    </main>
  );
}
