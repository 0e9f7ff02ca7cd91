/**
 * Heartbeats keep the daemon from declaring the plugin dead (60 s of silence ends a local or remote runtime;
 * local_runtime/stdio_handle.go, debugging_runtime HeartbeatMonitor). One goes out at once, then every `intervalMs`.
 * @module
 */
import type { Logger } from 'pino';
import { HEARTBEAT_FRAME } from './frames.js';
import type { Transport } from './transport.js';

/** Starts beating on `transport`; returns a function that stops it. The timer never keeps the process alive. */
export function startHeartbeat(transport: Transport, intervalMs: number, logger: Logger): () => void {
  const beat = () => {
    transport.send(HEARTBEAT_FRAME).catch((error: unknown) => {
      logger.debug({ reason: (error as Error).message }, 'heartbeat not sent');
    });
  };
  beat();
  const timer = setInterval(beat, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
