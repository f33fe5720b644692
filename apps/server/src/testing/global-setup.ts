import type { TestProject } from 'vitest/node';
import { startPostgres } from './postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
  }
}

/** One private PostgreSQL for the whole run; each test file makes its own database in it. */
export default async function setup(project: TestProject) {
  const pg = await startPostgres();
  project.provide('pgUrl', pg.url);
  return async () => {
    await pg.stop();
  };
}
