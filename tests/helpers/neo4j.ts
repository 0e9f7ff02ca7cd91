/**
 * A real Neo4j 5 for tests: the launcher that `scripts/neo4j-server.sh install` builds (Neo4j's test harness from
 * Maven Central, Bolt on 127.0.0.1), spawned per test file with `--watch-stdin` so it ends with the test process.
 * `TEST_NEO4J_URL` (e.g. from `scripts/neo4j-server.sh start`) uses a running server instead.
 *
 * Outside CI a missing launcher skips the Neo4j tests with the reason; in CI (`CI` set) the tests run and fail with
 * it, so a CI run never passes without the Neo4j backend having been exercised.
 * @module
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface Neo4jAvailability {
  /** The command line that starts a server, or the URL of a running one. */
  command?: string[];
  url?: string;
  /** Why there is no server here. */
  reason?: string;
}

/** Decided synchronously at import time (describe.skipIf needs it then). */
export function neo4jAvailability(): Neo4jAvailability {
  const url = process.env.TEST_NEO4J_URL?.trim();
  if (url) return { url };
  const found = spawnSync('bash', [path.resolve('scripts/neo4j-server.sh'), 'command'], { encoding: 'utf8' });
  if (found.status === 0) return { command: found.stdout.trim().split('\n') };
  return { reason: 'the Neo4j test server is not built here: run `bash scripts/neo4j-server.sh install` (Maven: org.neo4j.test:neo4j-harness into .cache/neo4j)' };
}

/** Whether Neo4j tests should be skipped (never in CI). */
export function skipNeo4j(availability: Neo4jAvailability): boolean {
  return availability.reason !== undefined && !process.env.CI;
}

export interface RunningNeo4j {
  url: string;
  stop(): Promise<void>;
}

/** Starts (or reuses) the server; throws with the reason when there is none (the CI case). */
export async function startNeo4j(availability: Neo4jAvailability, timeoutMs = 240_000): Promise<RunningNeo4j> {
  if (availability.url) return { url: availability.url, stop: async () => {} };
  if (!availability.command) throw new Error(`no Neo4j server for the graph tests: ${availability.reason ?? 'unknown reason'}`);
  const [program, ...args] = availability.command;
  const child = spawn(program!, [...args, '--watch-stdin'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`Neo4j did not start within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = /^(bolt:\/\/\S+)$/m.exec(out)?.[1];
      if (line) {
        clearTimeout(timer);
        resolve(line.replace(/\/$/, ''));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Neo4j exited with ${code} while starting: ${stderr}`));
    });
  });
  return { url, stop: () => stopChild(child) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.stdin?.end();
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}
