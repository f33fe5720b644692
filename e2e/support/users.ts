/** The people PARLEY_DEMO_USERS=1 seeds; every journey starts from them. */
export interface TestUser {
  name: string;
  email: string;
  password: string;
  role: 'admin' | 'doctor' | 'nurse';
}

export const DEMO_PASSWORD = 'parley-demo-pass';

export const ALEX: TestUser = { name: 'Alex Admin', email: 'admin@example.com', password: DEMO_PASSWORD, role: 'admin' };
export const DANA: TestUser = { name: 'Dana Doctor', email: 'doctor@example.com', password: DEMO_PASSWORD, role: 'doctor' };
export const NOOR: TestUser = { name: 'Noor Nurse', email: 'nurse@example.com', password: DEMO_PASSWORD, role: 'nurse' };
