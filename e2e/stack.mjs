// Starts the whole system for a browser test: the simulators, the back
// office (with a fresh database, seeded in demo mode) and the edge, on free
// loopback ports, with a Redis key prefix of its own. Needs the binaries
// that `make build` puts in bin/.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '..');
const bin = (name) => join(root, 'bin', name);

async function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

async function waitReady(url, process, name) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (process.exitCode !== null) throw new Error(`${name} exited with code ${process.exitCode}; see its log`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((wait) => setTimeout(wait, 200));
  }
  throw new Error(`${name} not ready at ${url} within 60 s`);
}

/**
 * Starts the stack. Returns { edgeURL, backOfficeURL, identityURL, env, stop }.
 * `stop` kills every process and drops the database. `name`, when set (lower
 * case letters and digits), goes into the database name and the Redis
 * prefix, so a spec's data is distinguishable from other runs'. `settings`
 * override the environment of every process, such as a short idle timeout.
 */
export async function startStack({ name = '', settings = {} } = {}) {
  if (!/^[a-z0-9]*$/.test(name)) throw new Error(`stack name ${name} must be lower case letters and digits`);
  const id = name ? `${name}_${randomBytes(4).toString('hex')}` : randomBytes(4).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'preschool-e2e-'));
  const [edgePort, backOfficePort, identityPort, certificatesPort, dataPort, smsPort, ratingPort] =
    await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
  // E2E_DATABASE_PREFIX lets people who share one PostgreSQL tell their
  // test databases apart; it must be a lower-case SQL identifier.
  // TEST_RUN_LABEL goes into the name too, as in the Go tests.
  const prefix = process.env.E2E_DATABASE_PREFIX || 'e2e';
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(prefix)) throw new Error(`invalid E2E_DATABASE_PREFIX "${prefix}": use lower-case letters, digits and underscores`);
  const label = (process.env.TEST_RUN_LABEL ?? '').toLowerCase().replace(/[^a-z0-9]/g, '_').slice(0, 30);
  const databaseName = label ? `${prefix}_${label}_${id}` : `${prefix}_${id}`;
  const env = {
    ...process.env,
    CRYPTO_KEYRING_FILE: join(dir, 'keyring.json'),
    CRYPTO_SIGNING_KEY_FILE: join(dir, 'signing-key.pem'),
    CRYPTO_SIGNING_KEY_ID: 'e2e',
    DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${databaseName}?sslmode=disable`,
    REDIS_PREFIX: `e2e:${id}:`,
    BACKOFFICE_LISTEN: `127.0.0.1:${backOfficePort}`,
    BACKOFFICE_DEV_SIGN_IN: 'true',
    BACKOFFICE_UPLOAD_DIR: join(dir, 'uploads'),
    EDGE_LISTEN: `127.0.0.1:${edgePort}`,
    EDGE_OPERATIONS_LISTEN: '127.0.0.1:0',
    EDGE_LIMITS_FILE: join(root, 'deploy', 'limits.toml'),
    EDGE_UPLOAD_DIR: join(dir, 'uploads'),
    IDENTITY_URL: `http://127.0.0.1:${identityPort}`,
    CERTIFICATES_URL: `http://127.0.0.1:${certificatesPort}`,
    DATA_API_URL: `http://127.0.0.1:${dataPort}`,
    SIM_IDENTITY_LISTEN: `127.0.0.1:${identityPort}`,
    SIM_CERTIFICATES_LISTEN: `127.0.0.1:${certificatesPort}`,
    SIM_DATA_LISTEN: `127.0.0.1:${dataPort}`,
    SIM_CRYPTO_LISTEN: '127.0.0.1:0',
    SIM_SMS_LISTEN: `127.0.0.1:${smsPort}`,
    SMS_API_URL: `http://127.0.0.1:${smsPort}`,
    SIM_RATING_LISTEN: `127.0.0.1:${ratingPort}`,
    RATING_API_URL: `http://127.0.0.1:${ratingPort}`,
    SIM_GATEWAY_LISTEN: '127.0.0.1:0',
    SIM_GATEWAY_UPSTREAM: `http://127.0.0.1:${backOfficePort}`,
    SIM_GATEWAY_DIR: join(dir, 'gateway'),
    VERIFY_INTERVAL: '500ms',
    LOG_LEVEL: 'warn',
    ...settings,
  };

  execFileSync(bin('backoffice'), ['keygen', env.CRYPTO_KEYRING_FILE, env.CRYPTO_SIGNING_KEY_FILE], { env });
  execFileSync(bin('backoffice'), ['seed', '-demo'], { env, stdio: ['ignore', 'ignore', 'inherit'] });

  const processes = [];
  const launch = (name, args) => {
    const child = spawn(bin(name), args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    processes.push(child);
    return child;
  };
  const simulators = launch('simulators', []);
  await waitReady(`${env.IDENTITY_URL}/healthz`, simulators, 'simulators');
  const backOffice = launch('backoffice', ['serve']);
  await waitReady(`http://${env.BACKOFFICE_LISTEN}/readyz`, backOffice, 'backoffice');
  const edge = launch('edge', []);
  await waitReady(`http://${env.EDGE_LISTEN}/readyz`, edge, 'edge');

  const stop = async () => {
    for (const child of processes.reverse()) {
      child.kill('SIGTERM');
      await new Promise((done) => (child.exitCode !== null ? done() : child.once('exit', done)));
    }
    try {
      execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-qc',
        `DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`]);
    } catch (error) {
      console.error(`drop database ${databaseName}: ${error.message}`);
    }
    try {
      // The prefix is lower case letters, digits, "_" and ":", so it is safe
      // inside the shell command.
      execFileSync('sh', ['-c',
        `redis-cli --scan --pattern '${env.REDIS_PREFIX}*' | xargs -r -n 500 redis-cli unlink >/dev/null`]);
    } catch (error) {
      console.error(`delete Redis keys under ${env.REDIS_PREFIX}: ${error.message}`);
    }
  };
  return {
    edgeURL: `http://${env.EDGE_LISTEN}`,
    backOfficeURL: `http://${env.BACKOFFICE_LISTEN}`,
    identityURL: env.IDENTITY_URL,
    env,
    stop,
  };
}

/**
 * Launches Debian's Chromium headless, as the machines have no other
 * browser. args are added to the command line, such as a fake camera's.
 */
export async function launchBrowser({ args = [] } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', ...args],
  });
}

/** Writes a screenshot into e2e/screenshots for people to look at. */
export function screenshotPath(name) {
  return join(root, 'e2e', 'screenshots', `${name}.png`);
}

