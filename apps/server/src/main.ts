import { buildApp } from './app.ts';
import { ConfigError, loadConfig, type Config } from './env.ts';
import { seedDemoUsers } from './features/users/demo-users.ts';

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}

const { app, ctx } = await buildApp(config);

if (config.demoUsers) {
  const created = await seedDemoUsers(ctx.users);
  if (created.length > 0) {
    app.log.info({ users: created.map((u) => u.email) }, 'demo users created');
    console.log(['', 'Demo accounts (password "parley-demo"):', ...created.map((u) => `  ${u.name.padEnd(12)} ${u.email.padEnd(20)} ${u.role}`), ''].join('\n'));
  }
}

const cleanup = setInterval(() => void ctx.sessions.deleteExpired().catch((err: unknown) => app.log.warn({ err }, 'session cleanup failed')), 3600_000);
cleanup.unref();

let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}

const address = await app.listen({ host: config.host, port: config.port });
const shown = config.host === '0.0.0.0' || config.host === '::' ? address.replace(/\/\/[^:]+:/, '//localhost:') : address;
console.log(`Parley is running on ${shown}`);
