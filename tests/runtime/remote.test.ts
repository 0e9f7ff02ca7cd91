// The built plugin in remote-debug mode against a fake daemon on loopback.
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeDaemon } from '../helpers/fake-daemon.js';
import { PluginProcess, copyDeclarations, ensureBundle, invokeFrame } from '../helpers/plugin-process.js';

let root = '';
let daemon: FakeDaemon | null = null;
let plugin: PluginProcess | null = null;
const bigAsset = randomBytes(20_000);

beforeAll(() => {
  ensureBundle();
  // A private copy of the declarations plus a binary asset large enough to need several chunks.
  root = copyDeclarations('protocol-remote-');
  writeFileSync(path.join(root, '_assets', 'banner.bin'), bigAsset);
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

afterEach(async () => {
  if (plugin && plugin.child.exitCode === null) {
    plugin.child.kill('SIGKILL');
    await plugin.exited;
  }
  await daemon?.close();
  plugin = null;
  daemon = null;
});

function startRemote(d: FakeDaemon, env: Record<string, string> = {}): PluginProcess {
  plugin = new PluginProcess({
    root,
    env: {
      INSTALL_METHOD: 'remote',
      REMOTE_INSTALL_URL: `127.0.0.1:${d.port}`,
      REMOTE_INSTALL_KEY: d.key,
      PLUGIN_RECONNECT_BASE_MS: '100',
      PLUGIN_RECONNECT_MAX_MS: '400',
      ...env,
    },
  });
  return plugin;
}

describe('remote-debug door', () => {
  it('registers in order: handshake, manifest, tools, asset chunks, end', async () => {
    daemon = await FakeDaemon.start();
    startRemote(daemon);
    const connection = await daemon.connection(0);
    await connection.registered;
    expect(connection.problem).toBeNull();

    const types = connection.registration.map((l) => l.type);
    expect(types[0]).toBe('handshake');
    expect(connection.registration[0]!.data).toEqual({ key: daemon.key });
    expect(types.slice(1, 3)).toEqual(['manifest_declaration', 'tool_declaration']);
    expect(types.at(-1)).toBe('end');
    expect(connection.registration.at(-1)!.data).toEqual({});

    // The manifest is the YAML, as JSON.
    const manifest = parse(readFileSync(path.join(root, 'manifest.yaml'), 'utf8')) as { icon: string };
    expect(connection.registration[1]!.data).toEqual(manifest);

    // The provider in the daemon's JSON shape: credentials as a list with names, tools inline.
    const providerYaml = parse(readFileSync(path.join(root, 'provider', 'mem0ai.yaml'), 'utf8')) as {
      identity: Record<string, unknown>;
      credentials_for_provider: Record<string, Record<string, unknown>>;
      tools: string[];
    };
    const tools = connection.registration[2]!.data as Record<string, unknown>[];
    expect(tools).toHaveLength(1);
    const provider = tools[0]!;
    expect(provider.identity).toEqual(providerYaml.identity);
    expect(provider).not.toHaveProperty('credentials_for_provider');
    const credentials = provider.credentials_schema as Record<string, unknown>[];
    expect(credentials.map((c) => c.name)).toEqual(Object.keys(providerYaml.credentials_for_provider));
    for (const credential of credentials) {
      expect(credential).toMatchObject(providerYaml.credentials_for_provider[credential.name as string]!);
    }
    const toolYamls = providerYaml.tools.map(
      (file) => parse(readFileSync(path.join(root, file), 'utf8')) as Record<string, unknown> & { parameters?: unknown[] },
    );
    const sent = provider.tools as Record<string, unknown>[];
    expect(sent).toHaveLength(toolYamls.length);
    sent.forEach((tool, i) => {
      const yaml = toolYamls[i]!;
      expect(tool.identity).toEqual(yaml.identity);
      expect(tool.description).toEqual(yaml.description);
      expect(tool.has_runtime_parameters).toBe(false);
      expect((tool.parameters as unknown[]).length).toBe((yaml.parameters ?? []).length);
      (tool.parameters as Record<string, unknown>[]).forEach((parameter, j) => {
        expect(parameter).toMatchObject(yaml.parameters![j] as Record<string, unknown>);
        expect(Array.isArray(parameter.options)).toBe(true);
      });
      if (yaml.output_schema) expect(tool.output_schema).toEqual(yaml.output_schema);
    });

    // Assets reassemble to the files; no chunk carries more than 8192 raw bytes; the last chunk says end.
    const assets = connection.assets();
    for (const name of readdirSync(path.join(root, '_assets'))) {
      expect(assets.get(name)).toEqual(readFileSync(path.join(root, '_assets', name)));
    }
    expect(assets.get('banner.bin')).toEqual(bigAsset);
    expect(assets.has(manifest.icon)).toBe(true);
    expect(assets.has(providerYaml.identity.icon as string)).toBe(true);
    const chunks = connection.registration.filter((l) => l.type === 'asset_chunk').map((l) => l.data) as {
      filename: string;
      data: string;
      end: boolean;
    }[];
    for (const chunk of chunks) expect(Buffer.from(chunk.data, 'base64').length).toBeLessThanOrEqual(8192);
    const banner = chunks.filter((c) => c.filename === 'banner.bin');
    expect(banner).toHaveLength(3);
    expect(banner.map((c) => c.end)).toEqual([false, false, true]);
  });

  it('serves interleaved sessions over the socket and heartbeats after registering', async () => {
    daemon = await FakeDaemon.start();
    startRemote(daemon, { PLUGIN_HEARTBEAT_MS: '400' });
    const connection = await daemon.connection(0);
    await connection.registered;
    await connection.frames.waitFor((f) => f.event === 'heartbeat', 5_000, 'heartbeat');

    connection.send(invokeFrame('r-slow', '__test_sleep', { ms: 200 }));
    connection.send(invokeFrame('r-echo', '__test_echo', { query: 'over tcp' }));
    const echo = await connection.frames.session('r-echo');
    expect(echo.streams[0]).toMatchObject({ message: { json_object: { parameters: { query: 'over tcp' } } } });
    const slow = await connection.frames.session('r-slow');
    expect(slow.streams).toEqual([{ type: 'text', message: { text: 'slept 200' }, meta: null }]);

    // Three beats come long before the remote default interval (15 s) would allow a second one: the setting is
    // used. (The spacing itself is checked with fake timers in runtime-units.test.ts, not with this machine's clock.)
    await connection.frames.waitFor(() => connection.frames.heartbeats().length >= 3, 10_000, 'three heartbeats');
  });

  it('reconnects and registers again after the daemon drops the connection', async () => {
    daemon = await FakeDaemon.start();
    startRemote(daemon);
    const first = await daemon.connection(0);
    await first.registered;
    first.send(invokeFrame('lost', '__test_sleep', { ms: 30_000 }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    first.drop();

    const second = await daemon.connection(1, 10_000);
    await second.registered;
    expect(second.registration.map((l) => l.type).slice(0, 3)).toEqual([
      'handshake',
      'manifest_declaration',
      'tool_declaration',
    ]);
    second.send(invokeFrame('after-reconnect', '__test_echo'));
    expect((await second.frames.session('after-reconnect')).error).toBeNull();
    // The session of the lost connection was aborted, not carried over.
    expect(second.frames.received.some((r) => r.frame.session_id === 'lost')).toBe(false);
  });

  it('logs a rejected key clearly and keeps retrying with backoff', async () => {
    daemon = await FakeDaemon.start('the-right-key');
    const p = startRemote(daemon, { REMOTE_INSTALL_KEY: 'a-wrong-key' });
    const first = await daemon.connection(0);
    await expect(first.registered).rejects.toThrow('invalid key');
    expect(await p.stderrIncludes('handshake failed, invalid key', 5_000)).toBe(true);
    expect(await p.stderrIncludes('rejected the plugin')).toBe(true);
    await daemon.connection(1, 10_000);
    expect(p.stderr).not.toContain('a-wrong-key');
  });

  it('keeps retrying while the daemon is down and registers once it is up', async () => {
    const probe = await FakeDaemon.start();
    const port = probe.port;
    await probe.close();
    plugin = new PluginProcess({
      root,
      env: {
        INSTALL_METHOD: 'remote',
        REMOTE_INSTALL_URL: `127.0.0.1:${port}`,
        REMOTE_INSTALL_KEY: 'test-key-0123',
        PLUGIN_RECONNECT_BASE_MS: '100',
        PLUGIN_RECONNECT_MAX_MS: '300',
      },
    });
    expect(await plugin.stderrIncludes('cannot reach the Dify daemon', 5_000)).toBe(true);
    daemon = await FakeDaemon.startOn(port);
    const connection = await daemon.connection(0, 10_000);
    await connection.registered;
  });

  it('reads REMOTE_INSTALL_* from a .env file in the plugin root', async () => {
    daemon = await FakeDaemon.start();
    const envRoot = copyDeclarations('protocol-dotenv-');
    try {
      writeFileSync(
        path.join(envRoot, '.env'),
        `# remote debugging\nINSTALL_METHOD=remote\nREMOTE_INSTALL_URL=127.0.0.1:${daemon.port}\nREMOTE_INSTALL_KEY="${daemon.key}"\n`,
      );
      plugin = new PluginProcess({ root: envRoot, env: { INSTALL_METHOD: undefined } });
      const connection = await daemon.connection(0);
      await connection.registered;
    } finally {
      rmSync(envRoot, { recursive: true, force: true });
    }
  });

  it('exits 0 on SIGTERM after finishing in-flight sessions', async () => {
    daemon = await FakeDaemon.start();
    const p = startRemote(daemon);
    const connection = await daemon.connection(0);
    await connection.registered;
    connection.send(invokeFrame('term', '__test_sleep', { ms: 400 }));
    // The echo sent behind it answered: the sleep is in flight when the signal comes (not after a guessed 100 ms).
    connection.send(invokeFrame('term-echo', '__test_echo'));
    await connection.frames.session('term-echo');
    p.child.kill('SIGTERM');
    const result = await connection.frames.session('term');
    expect(result.streams).toEqual([{ type: 'text', message: { text: 'slept 400' }, meta: null }]);
    expect(await p.stop()).toEqual({ code: 0, signal: null });
  });
});
