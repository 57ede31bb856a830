/**
 * A recording fake of the service control manager's calls (ScmApi): the dispatcher calls
 * ServiceMain like the SCM's own thread would (later, not inside the call), controls are sent
 * by the test, and each call can be made to fail with the Win32 error the SCM documents.
 */
import type {
  FailureAction,
  ScHandle,
  ScmApi,
  ServiceSpec,
  ServiceStatus,
  Win32,
} from '../../src/advapi32-api-windows.js';

type Call = 'openManager' | 'createService' | 'openService' | 'controlService' | 'queryState';

/** The fake; `calls` is the log, the other fields steer it. */
export class FakeScm implements ScmApi {
  readonly calls: string[] = [];
  readonly statuses: ServiceStatus[] = [];
  /** When set, the dispatcher fails at once with this value (not started by the SCM). */
  dispatcherResult: number | undefined;
  registerError = 0;
  setStatusError = 0;
  /** Failures of calls returning a handle or a state. */
  failures: Partial<Record<Call, number>> = {};
  /** Failures of calls returning a code. */
  descriptionError = 0;
  actionsError = 0;
  startError = 0;
  deleteError = 0;
  /** States QueryServiceStatus reports, in turn (the last one repeats). */
  states: number[] = [1];
  readonly open = new Set<ScHandle>();
  private next = 1;
  private handler: ((control: number, eventType: number) => number) | null = null;
  private finish: ((rc: number) => void) | null = null;

  /** Sends a control as the SCM would; returns the handler's answer. */
  control(code: number): number {
    if (!this.handler) throw new Error('no handler registered');
    this.calls.push(`control(${code})`);
    return this.handler(code, 0);
  }

  private handle(): ScHandle {
    const h = this.next++;
    this.open.add(h);
    return h;
  }
  private result(call: Call, value: () => number): Win32<number> {
    const error = this.failures[call];
    return error ? { ok: false, error } : { ok: true, value: value() };
  }

  runDispatcher(name: string, serviceMain: () => void): Promise<number> {
    this.calls.push(`StartServiceCtrlDispatcherW(${name})`);
    if (this.dispatcherResult !== undefined) return Promise.resolve(this.dispatcherResult);
    return new Promise((resolve) => {
      this.finish = resolve;
      setImmediate(serviceMain);
    });
  }
  registerHandler(name: string, handler: (control: number, eventType: number) => number): Win32<ScHandle> {
    this.calls.push(`RegisterServiceCtrlHandlerExW(${name})`);
    if (this.registerError) return { ok: false, error: this.registerError };
    this.handler = handler;
    return { ok: true, value: 77 };
  }
  setStatus(handle: ScHandle, status: ServiceStatus): number {
    this.calls.push(`SetServiceStatus(${handle}, state ${status.state})`);
    this.statuses.push(status);
    // Once every service of the process reported STOPPED, the dispatcher returns.
    if (status.state === 1 && !this.setStatusError) setImmediate(() => this.finish?.(0));
    return this.setStatusError;
  }
  openManager(access: number): Win32<ScHandle> {
    this.calls.push(`OpenSCManagerW(0x${access.toString(16)})`);
    return this.result('openManager', () => this.handle());
  }
  createService(manager: ScHandle, spec: ServiceSpec): Win32<ScHandle> {
    this.calls.push(
      `CreateServiceW(${manager}, ${spec.name}, ${spec.displayName}, start ${spec.startType}, ${spec.binaryPath})`,
    );
    return this.result('createService', () => this.handle());
  }
  openService(manager: ScHandle, name: string, access: number): Win32<ScHandle> {
    this.calls.push(`OpenServiceW(${manager}, ${name}, 0x${access.toString(16)})`);
    return this.result('openService', () => this.handle());
  }
  setDescription(service: ScHandle, text: string): number {
    this.calls.push(`ChangeServiceConfig2W(${service}, DESCRIPTION, ${text})`);
    return this.descriptionError;
  }
  setFailureActions(service: ScHandle, resetSeconds: number, actions: FailureAction[]): number {
    const list = actions.map((a) => `${a.type}/${a.delayMs}`).join(',');
    this.calls.push(`ChangeServiceConfig2W(${service}, FAILURE_ACTIONS, reset ${resetSeconds}, ${list})`);
    return this.actionsError;
  }
  startService(service: ScHandle): number {
    this.calls.push(`StartServiceW(${service})`);
    return this.startError;
  }
  controlService(service: ScHandle, control: number): Win32<number> {
    this.calls.push(`ControlService(${service}, ${control})`);
    return this.result('controlService', () => 3);
  }
  queryState(service: ScHandle): Win32<number> {
    this.calls.push(`QueryServiceStatus(${service})`);
    return this.result('queryState', () => (this.states.length > 1 ? this.states.shift()! : this.states[0]!));
  }
  deleteService(service: ScHandle): number {
    this.calls.push(`DeleteService(${service})`);
    return this.deleteError;
  }
  closeServiceHandle(handle: ScHandle): void {
    this.calls.push(`CloseServiceHandle(${handle})`);
    this.open.delete(handle);
  }
}
