#!/usr/bin/env node
// Makes sure the system programs Parley's tests drive are installed (run as `npm test`'s pretest).
// Browser journeys need Chromium; storage tests need PostgreSQL; the network lab needs coturn and
// iptables; the scaling tests need Redis. As root (CI) the missing Debian packages are installed;
// otherwise the script says what to install and fails, so a test run never half-works.
// Plain Node, no dependencies: it has to run before anything else is known to work.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

// Root's PATH normally has the sbin folders, a user's may not; iptables lives there.
const SEARCH_PATH = [
  ...(process.env.PATH ?? '').split(delimiter),
  '/usr/local/sbin',
  '/usr/local/bin',
  '/usr/sbin',
  '/usr/bin',
  '/sbin',
  '/bin',
].filter(Boolean);

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function which(name) {
  for (const dir of new Set(SEARCH_PATH)) {
    const file = join(dir, name);
    if (isExecutable(file)) return file;
  }
  return undefined;
}

/** The newest /usr/lib/postgresql/<version>/bin holding initdb, pg_ctl and postgres. */
function postgresBin() {
  let versions;
  try {
    versions = readdirSync('/usr/lib/postgresql');
  } catch {
    return undefined;
  }
  versions.sort((a, b) => Number(b) - Number(a) || b.localeCompare(a));
  for (const version of versions) {
    const bin = join('/usr/lib/postgresql', version, 'bin');
    if (['initdb', 'pg_ctl', 'postgres'].every((tool) => isExecutable(join(bin, tool)))) return bin;
  }
  return undefined;
}

/** Each Debian package with the check that proves it is installed (returns where, or undefined). */
const PACKAGES = [
  { pkg: 'chromium', find: () => (isExecutable('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined) },
  { pkg: 'postgresql', find: postgresBin },
  { pkg: 'coturn', find: () => which('turnserver') },
  { pkg: 'iptables', find: () => which('iptables') },
  // The network lab: namespaces and veths (ip), a TLS certificate for TURNS (openssl).
  { pkg: 'iproute2', find: () => which('ip') },
  { pkg: 'openssl', find: () => which('openssl') },
  // Several nodes: the shared fan-out and call state (Redis), the proxy in front of them (nginx).
  { pkg: 'redis-server', find: () => which('redis-server') },
  { pkg: 'nginx', find: () => which('nginx') },
];

function survey() {
  return PACKAGES.map(({ pkg, find }) => ({ pkg, where: find() }));
}

function missingOf(found) {
  return found.filter((f) => f.where === undefined).map((f) => f.pkg);
}

function run(command, args, env = process.env) {
  console.log(`$ ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { stdio: 'inherit', env });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    console.error(`${command} exited with ${result.status ?? result.signal}`);
    process.exit(1);
  }
}

let found = survey();
let missing = missingOf(found);

if (missing.length > 0) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    console.error(
      `Parley's tests need these Debian packages: ${missing.join(', ')}. ` +
        `Install them with: sudo apt-get install -y ${missing.join(' ')}`,
    );
    process.exit(1);
  }
  console.log(`Installing missing test dependencies: ${missing.join(' ')}`);
  run('apt-get', ['update']);
  run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], {
    ...process.env,
    DEBIAN_FRONTEND: 'noninteractive',
  });
  found = survey();
  missing = missingOf(found);
  if (missing.length > 0) {
    console.error(`Still missing after apt-get install: ${missing.join(', ')}`);
    process.exit(1);
  }
}

console.log(`Test dependencies: ${found.map((f) => `${f.pkg} (${f.where})`).join(', ')}`);
