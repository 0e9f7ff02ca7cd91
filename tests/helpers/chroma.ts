/**
 * A real Chroma server for tests: PyPI's chromadb `chroma run` (installed by scripts/chroma-server.sh into
 * .cache/chroma) on a free loopback port with a fresh data folder. `CHROMA_PROGRAM` is empty where it is not installed;
 * tests then skip with {@link CHROMA_MISSING}.
 * @module
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';
import { REPO_ROOT } from './plugin-process.js';

const found = spawnSync('bash', [path.join(REPO_ROOT, 'scripts', 'chroma-server.sh'), 'bin'], { encoding: 'utf8' });
export const CHROMA_PROGRAM = found.status === 0 ? found.stdout.trim() : '';
export const CHROMA_MISSING = 'the Chroma server is not installed here: run `bash scripts/chroma-server.sh install` (PyPI chromadb into .cache/chroma)';

export class ChromaServer {
  private stderr = '';
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-4000)));
  }

  /** Starts `chroma run` and waits (up to 20 s) until its heartbeat answers. */
  static async start(): Promise<ChromaServer> {
    const port = await freePort();
    const data = mkdtempSync(path.join(tmpdir(), 'mem0-chroma-'));
    const child = spawn(CHROMA_PROGRAM, ['run', '--path', data, '--host', '127.0.0.1', '--port', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
    const server = new ChromaServer(child, port);
    const until = Date.now() + 20_000;
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/api/v2/heartbeat`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
      if (ok) return server;
      if (Date.now() > until) {
        await server.stop();
        throw new Error(`chroma on port ${port} did not answer its heartbeat (${server.stderr})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
