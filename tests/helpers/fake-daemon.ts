/**
 * A stand-in for the Dify daemon's remote-debug port, on loopback. For each connection it reads the registration
 * the way the daemon does (handshake with the right key first, then declarations, asset chunks, end), answers a
 * bad key with a plain-text line and closes, and afterwards collects frames and lets the test send requests or
 * drop the connection.
 * @module
 */
import net from 'node:net';
import { FrameCollector } from './plugin-process.js';
import type { Frame } from './plugin-process.js';

export interface RegisterLine {
  type: string;
  data: unknown;
}

const ORDER = ['handshake', 'manifest_declaration', 'tool_declaration', 'asset_chunk', 'end'];

export class DaemonConnection {
  readonly registration: RegisterLine[] = [];
  readonly frames = new FrameCollector();
  /** Why the registration was not accepted, if it was not. */
  problem: string | null = null;
  readonly registered: Promise<void>;
  readonly closed: Promise<void>;
  private registeredResolve: () => void = () => {};
  private registeredReject: (error: Error) => void = () => {};
  private done = false;

  constructor(
    readonly socket: net.Socket,
    private readonly key: string,
  ) {
    this.registered = new Promise((resolve, reject) => {
      this.registeredResolve = resolve;
      this.registeredReject = reject;
    });
    this.registered.catch(() => {});
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => {});
    socket.on('close', () => this.fail('connection closed before registration ended'));
    let rest = '';
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      const lines = (rest + text).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) this.onLine(line);
    });
  }

  send(frame: Frame): void {
    this.socket.write(JSON.stringify(frame) + '\n');
  }

  /** Cuts the connection like a daemon restart would. */
  drop(): void {
    this.socket.destroy();
  }

  /** The asset files as reassembled by the daemon (filename → bytes). */
  assets(): Map<string, Buffer> {
    const files = new Map<string, Buffer[]>();
    for (const line of this.registration.filter((l) => l.type === 'asset_chunk')) {
      const chunk = line.data as { filename: string; data: string };
      const parts = files.get(chunk.filename) ?? [];
      parts.push(Buffer.from(chunk.data, 'base64'));
      files.set(chunk.filename, parts);
    }
    return new Map([...files].map(([name, parts]) => [name, Buffer.concat(parts)]));
  }

  private onLine(line: string): void {
    let value: { type?: string; data?: unknown; event?: string };
    try {
      value = JSON.parse(line) as typeof value;
    } catch {
      this.reject(`plugin sent a line that is not JSON: ${line.slice(0, 80)}`);
      return;
    }
    if (this.done) {
      this.frames.push(value as Frame);
      return;
    }
    const type = String(value.type);
    const previous = this.registration.at(-1)?.type;
    this.registration.push({ type, data: value.data });
    if (previous === undefined) {
      if (type !== 'handshake') return this.reject(`first message was ${type}, not handshake`);
      if ((value.data as { key?: string } | undefined)?.key !== this.key) {
        // What the daemon does with a wrong key (debugging_runtime/hooks.go).
        this.socket.end('handshake failed, invalid key\n');
        return this.fail('invalid key');
      }
      return;
    }
    const rank = ORDER.indexOf(type);
    if (rank === -1 || rank < ORDER.indexOf(previous) || (rank === ORDER.indexOf(previous) && type !== 'asset_chunk')) {
      return this.reject(`registration out of order: ${type} after ${previous}`);
    }
    if (type === 'end') {
      this.done = true;
      this.registeredResolve();
    }
  }

  private reject(reason: string): void {
    this.socket.end(`${reason}\n`);
    this.fail(reason);
  }

  private fail(reason: string): void {
    if (this.done) return;
    this.done = true;
    this.problem ??= reason;
    this.registeredReject(new Error(reason));
  }
}

export class FakeDaemon {
  readonly connections: DaemonConnection[] = [];
  private waiters: ((connection: DaemonConnection) => void)[] = [];

  private constructor(
    private readonly server: net.Server,
    readonly key: string,
  ) {
    server.on('connection', (socket) => {
      const connection = new DaemonConnection(socket, key);
      this.connections.push(connection);
      const waiters = this.waiters;
      this.waiters = [];
      for (const waiter of waiters) waiter(connection);
    });
  }

  static async start(key = 'test-key-0123', port = 0): Promise<FakeDaemon> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return new FakeDaemon(server, key);
  }

  /** Listens on a given port (to come up where a plugin is already knocking). */
  static startOn(port: number, key = 'test-key-0123'): Promise<FakeDaemon> {
    return FakeDaemon.start(key, port);
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** The `index`-th connection (0-based), waiting for it if needed. */
  connection(index: number, timeoutMs = 10_000): Promise<DaemonConnection> {
    const existing = this.connections[index];
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no connection #${index} within ${timeoutMs} ms`)), timeoutMs);
      const check = () => {
        const connection = this.connections[index];
        if (connection) {
          clearTimeout(timer);
          resolve(connection);
        } else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  async close(): Promise<void> {
    for (const connection of this.connections) connection.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
