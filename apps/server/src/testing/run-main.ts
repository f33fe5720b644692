import { spawn } from 'node:child_process';
import path from 'node:path';

const MAIN = path.resolve(import.meta.dirname, '../main.ts');
// Resolved here, so the server may run in any working directory.
const TSX = import.meta.resolve('tsx');

/** Runs the real server entry point (`main.ts`); resolves once it says it is running. */
export async function runMain(env: Record<string, string>, opts: { args?: string[]; cwd?: string } = {}) {
  const child = spawn(process.execPath, ['--import', TSX, MAIN, ...(opts.args ?? [])], {
    env: { ...process.env, DATABASE_URL: ':memory:', HOST: '127.0.0.1', LOG_LEVEL: 'warn', NODE_ENV: 'test', STUN_URLS: '', TURN_MODE: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  // Generous: on a loaded two-core machine several tsx processes starting at once take a while.
  const deadline = Date.now() + 60_000;
  while (!out.includes('Parley is running')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 300)); // what it prints right after
  return {
    pid: child.pid!,
    output: () => out,
    /** SIGKILL, as a crashed machine: nothing of the process runs any more. */
    async kill(): Promise<void> {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
    /** SIGTERM; resolves with the exit code (1 means the 10 s forced exit: the shutdown hung). */
    async stop(): Promise<number | null> {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      return exited;
    },
  };
}
