/**
 * The door for an installed plugin: the daemon starts us as a child process and talks over stdin/stdout.
 * The first heartbeat goes out before the app is built, so a slow start never looks like a dead plugin.
 * stdin EOF means the daemon is done with us: {@link StdioDoor.ended} resolves and the caller shuts down.
 * @module
 */
import type { Readable, Writable } from 'node:stream';
import type { Logger } from 'pino';
import { logToStderr } from '../shared/log.js';
import type { LogRecord } from '../shared/log.js';
import type { RuntimeConfig } from './config.js';
import { logFrame } from './frames.js';
import { startHeartbeat } from './heartbeat.js';
import type { SessionRouter } from './session-router.js';
import { StreamTransport } from './stream-transport.js';
import { MalformedLineError } from './transport.js';

/** How often to check that the process that started us still exists (stdin EOF usually tells us first). */
const PARENT_CHECK_MS = 2000;

export class StdioDoor {
  /** Resolves when stdin ends or the parent process is gone. */
  readonly ended: Promise<void>;
  private readonly transport: StreamTransport;
  private stopHeartbeat: () => void = () => {};
  private parentTimer: NodeJS.Timeout | undefined;
  private signalEnded: () => void = () => {};

  constructor(
    input: Readable,
    output: Writable,
    private readonly config: RuntimeConfig,
    private readonly logger: Logger,
  ) {
    this.transport = new StreamTransport(input, output, { maxLineBytes: config.maxLineBytes, onCloseOutput: 'keep' });
    this.ended = new Promise((resolve) => {
      this.signalEnded = resolve;
    });
    this.transport.onclose = () => this.signalEnded();
    this.transport.onerror = (error) => {
      if (error instanceof MalformedLineError) this.logger.warn({ preview: error.preview.slice(0, 120) }, error.message);
      else this.logger.warn({ reason: error.message }, 'stdio problem');
    };
  }

  /** Sends the first heartbeat now and keeps beating. */
  beginHeartbeat(): void {
    this.stopHeartbeat = startHeartbeat(this.transport, this.config.heartbeatMs, this.logger);
  }

  /** Sends one of the plugin's log lines as a `log` frame; if stdout is gone it goes to stderr instead. */
  sendLog(record: LogRecord): void {
    this.transport.send(logFrame(record)).catch((error: unknown) => logToStderr(record, (error as Error).message));
  }

  /** Starts reading requests into `router`. */
  async serve(router: SessionRouter): Promise<void> {
    router.connect(this.transport);
    await this.transport.start();
    this.watchParent();
  }

  /** Stops heartbeats and reading. Output stays open so late frames and logs still flush. */
  async stop(): Promise<void> {
    this.stopHeartbeat();
    clearInterval(this.parentTimer);
    await this.transport.close();
  }

  /** Node's process.ppid is fixed at start, so probe the original parent instead (signal 0 sends nothing). */
  private watchParent(): void {
    const parent = process.ppid;
    if (parent <= 1) return;
    this.parentTimer = setInterval(() => {
      try {
        process.kill(parent, 0);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ESRCH') {
          this.logger.warn('parent process is gone');
          this.signalEnded();
        }
      }
    }, PARENT_CHECK_MS);
    this.parentTimer.unref();
  }
}
