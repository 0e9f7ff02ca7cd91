/**
 * The daemon's side of backwards `storage` calls, for tests: listens to the plugin's frames, and answers each
 * `invoke` of type storage the way the daemon does (executeDifyInvocationStorageTask: a `struct` response, then
 * `end`; a missing key on `get` is an `error` event, then `end`), from one key-value map per tenant. Which tenant a
 * session belongs to is the test's choice (`tenantOf`), as the daemon knows it from the request it sent.
 * `policy` lets a test hold an answer back (out of order), answer with an error, or never answer.
 * @module
 */
import { answerBackwards, backwardsInvoke } from './backwards-double.js';
import type { BackwardsDecision } from './backwards-double.js';
import type { Frame } from './plugin-process.js';

export interface StorageCall {
  sessionId: string;
  tenant: string;
  requestId: string;
  request: { opt?: string; key?: string; value?: string };
}

export type StoragePolicy = (call: StorageCall) => BackwardsDecision;

export class FakePluginStorage {
  readonly tenants = new Map<string, Map<string, Buffer>>();
  readonly calls: StorageCall[] = [];
  policy: StoragePolicy = () => ({ do: 'answer' });

  constructor(private readonly tenantOf: (sessionId: string) => string = () => 'tenant-default') {}

  /** Answers the storage calls arriving on `frames` (anything that calls its listeners per frame), writing answers with `send`. */
  attach(frames: { listeners: ((frame: Frame) => void)[] }, send: (frame: Frame) => void): void {
    frames.listeners.push((frame) => this.onFrame(frame, send));
  }

  keysOf(tenant: string): Map<string, Buffer> {
    let map = this.tenants.get(tenant);
    if (!map) this.tenants.set(tenant, (map = new Map()));
    return map;
  }

  private onFrame(frame: Frame, send: (frame: Frame) => void): void {
    const invoke = backwardsInvoke(frame);
    if (invoke?.type !== 'storage') return;
    const call: StorageCall = { sessionId: invoke.sessionId, tenant: this.tenantOf(invoke.sessionId), requestId: invoke.requestId, request: invoke.request as StorageCall['request'] };
    this.calls.push(call);
    answerBackwards(send, call, this.policy(call), () => {
      const result = this.execute(call);
      return 'error' in result ? result : [['struct', result.struct]];
    });
  }

  private execute(call: StorageCall): { struct: unknown } | { error: string } {
    const keys = this.keysOf(call.tenant);
    const key = String(call.request.key ?? '');
    switch (call.request.opt) {
      case 'get': {
        const value = keys.get(key);
        return value ? { struct: { data: value.toString('hex') } } : { error: 'load data failed, please check if the key is correct or you have not set it' };
      }
      case 'set':
        keys.set(key, Buffer.from(String(call.request.value ?? ''), 'hex'));
        return { struct: { data: 'ok' } };
      case 'exist':
        return { struct: { data: keys.has(key), exist_num: keys.has(key) ? 1 : 0 } };
      case 'del':
        return { struct: { data: 'ok', deleted_num: keys.delete(key) ? 1 : 0 } };
      default:
        return { error: `unknown storage opt ${String(call.request.opt)}` };
    }
  }
}
