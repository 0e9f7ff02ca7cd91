/**
 * The daemon's side of backwards `storage` calls, for tests: listens to the plugin's frames, and answers each
 * `invoke` of type storage the way the daemon does (executeDifyInvocationStorageTask: a `struct` response, then
 * `end`; a missing key on `get` is an `error` event, then `end`), from one key-value map per tenant. Which tenant a
 * session belongs to is the test's choice (`tenantOf`), as the daemon knows it from the request it sent.
 * `policy` lets a test hold an answer back (out of order), answer with an error, or never answer.
 * @module
 */
import type { Frame } from './plugin-process.js';

export interface StorageCall {
  sessionId: string;
  tenant: string;
  requestId: string;
  request: { opt?: string; key?: string; value?: string };
}

/** `answer` after the optional promise settles; `error` with a reason; `drop` never answers. */
export type StoragePolicy = (call: StorageCall) => { do: 'answer'; after?: Promise<unknown> } | { do: 'error'; reason: string } | { do: 'drop' };

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
    const data = frame.data as { type?: string; data?: { type?: string; backwards_request_id?: string; request?: StorageCall['request'] } } | undefined;
    if (frame.event !== 'session' || data?.type !== 'invoke' || data.data?.type !== 'storage') return;
    const sessionId = String(frame.session_id);
    const call: StorageCall = { sessionId, tenant: this.tenantOf(sessionId), requestId: String(data.data.backwards_request_id), request: data.data.request ?? {} };
    this.calls.push(call);
    const decision = this.policy(call);
    if (decision.do === 'drop') return;
    const reply = (event: string, message: string, payload: unknown): void =>
      send({
        session_id: sessionId, conversation_id: null, message_id: null, app_id: null, endpoint_id: null, context: null,
        event: 'backwards_response',
        data: { backwards_request_id: call.requestId, event, message, data: payload },
      });
    const answer = (): void => {
      if (decision.do === 'error') reply('error', decision.reason, null);
      else {
        const result = this.execute(call);
        if ('error' in result) reply('error', result.error, null);
        else reply('response', 'struct', result.struct);
      }
      reply('end', '', null);
    };
    if (decision.do === 'answer' && decision.after) void decision.after.then(answer);
    else answer();
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
