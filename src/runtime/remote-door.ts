/**
 * The remote-debug door: connect to the daemon's debug port, register, then serve sessions over the socket.
 *
 * The daemon (debugging_runtime/hooks.go) closes connections that have not shaken hands within 10 s, sends no
 * acknowledgement on success, and on failure writes one plain-text line ("handshake failed, invalid key", …) and
 * closes. It drops a connection after 60 s without a heartbeat. When the connection ends for any reason we abort
 * the sessions it carried, wait (exponential backoff with jitter, capped), reconnect and register again.
 * @module
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { backoffDelay } from '../shared/backoff.js';
import type { RemoteSettings, RuntimeConfig } from './config.js';
import type { Declarations } from './declarations.js';
import { startHeartbeat } from './heartbeat.js';
import { handshakeMessage, registrationMessages } from './registration.js';
import type { RegisterMessage } from './registration.js';
import type { SessionRouter } from './session-router.js';
import { StreamTransport } from './stream-transport.js';
import { MalformedLineError } from './transport.js';

/** A connection that stayed up this long counts as healthy: the next reconnect starts from the base delay. */
const HEALTHY_CONNECTION_MS = 10_000;

export type Connect = (host: string, port: number) => net.Socket;

interface Outcome {
  registered: boolean;
  rejection: string | null;
  lifetimeMs: number;
}

export class RemoteDoor {
  private stopping = false;
  private readonly stopController = new AbortController();
  private current: StreamTransport | null = null;
  private loop: Promise<void> | null = null;
  private readonly messages: RegisterMessage[];
  private readonly where: string;

  constructor(
    private readonly settings: RemoteSettings,
    private readonly config: RuntimeConfig,
    declarations: Declarations,
    private readonly router: SessionRouter,
    private readonly logger: Logger,
    private readonly connect: Connect = (host, port) => net.connect({ host, port }),
  ) {
    this.messages = registrationMessages(declarations);
    this.where = `${settings.host}:${settings.port}`;
  }

  /** Starts connecting; keeps reconnecting until {@link RemoteDoor.stop}. */
  start(): void {
    this.loop ??= this.run();
  }

  /** Stops reconnecting and closes the current connection (drain sessions first if they should finish). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopController.abort();
    await this.current?.close();
    await this.loop;
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopping) {
      const outcome = await this.connectOnce();
      if (this.stopping) break;
      if (outcome.registered && !outcome.rejection && outcome.lifetimeMs >= HEALTHY_CONNECTION_MS) attempt = 0;
      const delay = backoffDelay(attempt, this.config.reconnectBaseMs, this.config.reconnectMaxMs);
      attempt += 1;
      this.logger.info({ delayMs: delay, attempt }, `reconnecting to the Dify daemon at ${this.where}`);
      try {
        await sleep(delay, undefined, { signal: this.stopController.signal });
      } catch {
        break;
      }
    }
  }

  private async connectOnce(): Promise<Outcome> {
    const startedAt = Date.now();
    const socket = this.connect(this.settings.host, this.settings.port);
    const connected = await this.waitConnected(socket);
    if (connected !== true) {
      socket.destroy();
      if (!this.stopping) this.logger.warn({ reason: connected }, `cannot reach the Dify daemon at ${this.where}`);
      return { registered: false, rejection: null, lifetimeMs: 0 };
    }
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 15_000);

    const transport = new StreamTransport(socket, socket, {
      maxLineBytes: this.config.maxLineBytes,
      onCloseOutput: 'destroy',
    });
    this.current = transport;
    let rejection: string | null = null;
    const closed = new Promise<void>((resolve) => {
      transport.onclose = resolve;
    });
    transport.onerror = (error) => {
      if (error instanceof MalformedLineError) {
        // The daemon answers a bad registration (wrong key, invalid declaration, busy) with one plain-text line.
        rejection = error.preview.slice(0, 300);
        this.logger.error({ daemon: rejection }, `the Dify daemon at ${this.where} rejected the plugin`);
      } else {
        this.logger.warn({ reason: error.message }, 'connection problem');
      }
    };
    this.router.connect(transport);
    await transport.start();

    let registered = false;
    let stopHeartbeat = () => {};
    try {
      await transport.send(handshakeMessage(this.settings.key));
      for (const message of this.messages) await transport.send(message);
      registered = true;
      stopHeartbeat = startHeartbeat(transport, this.config.heartbeatMs, this.logger);
      this.logger.info(`registered with the Dify daemon at ${this.where}`);
    } catch (error) {
      this.logger.warn({ reason: (error as Error).message }, 'registration was cut short');
    }

    await closed;
    stopHeartbeat();
    this.router.abortTransport(transport, 'the connection to the Dify daemon was lost');
    await transport.close();
    if (this.current === transport) this.current = null;
    if (!this.stopping) this.logger.warn(`connection to the Dify daemon at ${this.where} closed`);
    return { registered, rejection, lifetimeMs: Date.now() - startedAt };
  }

  /** Resolves true once connected, or with a reason on error / timeout / stop. */
  private waitConnected(socket: net.Socket): Promise<true | string> {
    return new Promise((resolve) => {
      const done = (result: true | string) => {
        clearTimeout(timer);
        socket.off('connect', onConnect);
        socket.off('error', onError);
        this.stopController.signal.removeEventListener('abort', onStop);
        resolve(result);
      };
      const onConnect = () => done(true);
      const onError = (error: Error) => done((error as NodeJS.ErrnoException).code ?? error.message);
      const onStop = () => done('stopped');
      const timer = setTimeout(() => done('connect timeout'), this.config.connectTimeoutMs);
      socket.once('connect', onConnect);
      socket.once('error', onError);
      this.stopController.signal.addEventListener('abort', onStop, { once: true });
    });
  }
}
