/**
 * Runtime settings from the environment, plus a `.env` file like the Python SDK reads (real variables win).
 *
 * Door selection: `INSTALL_METHOD=local` → stdio; `INSTALL_METHOD=remote` → TCP to the daemon's debug port.
 * Without INSTALL_METHOD the plugin runs over stdio unless a remote key and address are configured.
 * Remote address: `REMOTE_INSTALL_URL` as `host:port` (or a URL with a port), else `REMOTE_INSTALL_HOST` /
 * `REMOTE_INSTALL_PORT` (defaults localhost:5003); key `REMOTE_INSTALL_KEY`.
 * Tuning (mostly for tests): PLUGIN_HEARTBEAT_MS, PLUGIN_SHUTDOWN_GRACE_MS, PLUGIN_RECONNECT_BASE_MS,
 * PLUGIN_RECONNECT_MAX_MS, PLUGIN_MAX_LINE_BYTES, PLUGIN_SESSION_TIMEOUT_MS.
 * @module
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_MAX_INPUT_LINE_BYTES } from './framing.js';

export type Env = Record<string, string | undefined>;

export interface RemoteSettings {
  host: string;
  port: number;
  key: string;
}

export interface RuntimeConfig {
  installMethod: 'local' | 'remote';
  remote: RemoteSettings | null;
  heartbeatMs: number;
  shutdownGraceMs: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  connectTimeoutMs: number;
  maxLineBytes: number;
  sessionTimeoutMs: number;
}

export const DEFAULT_REMOTE_PORT = 5003;

/** Parses dotenv text: `KEY=value`, optional `export `, quotes, `#` comments. No variable expansion. */
export function parseDotEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    const key = match[1] as string;
    let value = (match[2] as string).trim();
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.length >= 2 && value.endsWith(quote)) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\n/g, '\n').replace(/\\"/g, '"');
    } else {
      value = value.replace(/\s+#.*$/, '');
    }
    out[key] = value;
  }
  return out;
}

function readDotEnvFile(file: string): Record<string, string> {
  try {
    return parseDotEnv(readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
}

/** The environment with `.env` values filled in: process env > `<cwd>/.env` > `<pluginRoot>/.env`. */
export function effectiveEnv(env: Env, pluginRoot: string, cwd: string = process.cwd()): Env {
  const fromRoot = readDotEnvFile(path.join(pluginRoot, '.env'));
  const fromCwd = path.resolve(cwd) === path.resolve(pluginRoot) ? {} : readDotEnvFile(path.join(cwd, '.env'));
  return { ...fromRoot, ...fromCwd, ...env };
}

function positiveInt(value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : fallback;
}

/** Splits `host:port`, `scheme://host:port/...` or `[v6]:port`; the port defaults to 5003. */
export function parseRemoteAddress(value: string): { host: string; port: number } {
  const text = value.trim();
  if (text.includes('://')) {
    const url = new URL(text);
    return { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port ? Number(url.port) : DEFAULT_REMOTE_PORT };
  }
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6) return { host: v6[1] as string, port: v6[2] ? Number(v6[2]) : DEFAULT_REMOTE_PORT };
  const colon = text.lastIndexOf(':');
  if (colon === -1) return { host: text, port: DEFAULT_REMOTE_PORT };
  const port = Number(text.slice(colon + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error('REMOTE_INSTALL_URL has an invalid port; expected host:port');
  }
  return { host: text.slice(0, colon), port };
}

export function loadRuntimeConfig(env: Env): RuntimeConfig {
  const method = env.INSTALL_METHOD?.trim().toLowerCase();
  const key = env.REMOTE_INSTALL_KEY?.trim() || '';
  const address = env.REMOTE_INSTALL_URL?.trim()
    ? parseRemoteAddress(env.REMOTE_INSTALL_URL)
    : env.REMOTE_INSTALL_HOST?.trim()
      ? { host: env.REMOTE_INSTALL_HOST.trim(), port: positiveInt(env.REMOTE_INSTALL_PORT, DEFAULT_REMOTE_PORT) }
      : null;

  let installMethod: 'local' | 'remote';
  if (method === 'remote') installMethod = 'remote';
  else if (method === 'local') installMethod = 'local';
  else if (method) throw new Error('INSTALL_METHOD must be local or remote (serverless is not supported)');
  else installMethod = key && address ? 'remote' : 'local';

  let remote: RemoteSettings | null = null;
  if (installMethod === 'remote') {
    if (!key) throw new Error('INSTALL_METHOD=remote needs REMOTE_INSTALL_KEY (from the Dify plugin debug page)');
    const where = address ?? { host: 'localhost', port: positiveInt(env.REMOTE_INSTALL_PORT, DEFAULT_REMOTE_PORT) };
    remote = { ...where, key };
  }

  return {
    installMethod,
    remote,
    // The daemon drops a plugin after 60 s without a heartbeat; the Python SDK beats every 10 s.
    heartbeatMs: positiveInt(env.PLUGIN_HEARTBEAT_MS, installMethod === 'remote' ? 15_000 : 10_000),
    shutdownGraceMs: positiveInt(env.PLUGIN_SHUTDOWN_GRACE_MS, 5_000),
    reconnectBaseMs: positiveInt(env.PLUGIN_RECONNECT_BASE_MS, 1_000),
    reconnectMaxMs: positiveInt(env.PLUGIN_RECONNECT_MAX_MS, 30_000),
    connectTimeoutMs: 10_000,
    maxLineBytes: Math.max(positiveInt(env.PLUGIN_MAX_LINE_BYTES, DEFAULT_MAX_INPUT_LINE_BYTES), 1024),
    // The daemon stops waiting after PLUGIN_MAX_EXECUTION_TIMEOUT (600 s by default).
    sessionTimeoutMs: positiveInt(env.PLUGIN_SESSION_TIMEOUT_MS, 600_000),
  };
}
