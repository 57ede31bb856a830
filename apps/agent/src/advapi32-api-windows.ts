/**
 * The service control manager's calls, as an interface of its own: the SCM host
 * (service-windows.ts) and the installer (service-install-windows.ts) receive it, tests pass a
 * fake that records every call and answers with the documented Win32 errors, and
 * {@link loadScmApi} binds advapi32 through koffi — on Windows only.
 *
 * Threads. StartServiceCtrlDispatcherW does not return while the service runs: it is called
 * with koffi's `.async`, so it blocks one libuv worker thread, never the JS thread. The SCM then
 * calls ServiceMain on a thread of its own and HandlerEx on the dispatcher's thread; both are
 * koffi-registered callbacks, which koffi runs on the JS thread (queued there while the calling
 * thread waits for the answer). The JS thread never waits on those threads, so they cannot
 * deadlock, and every JS callback returns quickly: a stop control only reports STOP_PENDING and
 * schedules the agent's stop. SetServiceStatus may be called from any thread (here: the JS one).
 */
import { createRequire } from 'node:module';
import { ErrorCodes, TandemError } from '@tandem/common';

/** An SC_HANDLE or SERVICE_STATUS_HANDLE as an integer. */
export type ScHandle = number;
/** A call's value, or the Win32 error it failed with. */
export type Win32<T> = { ok: true; value: T } | { ok: false; error: number };

/** SERVICE_STATUS without the service type (always SERVICE_WIN32_OWN_PROCESS here). */
export interface ServiceStatus {
  state: number;
  controlsAccepted: number;
  win32ExitCode: number;
  serviceSpecificExitCode: number;
  checkPoint: number;
  waitHint: number;
}

/** What CreateServiceW is given (account: null = LocalSystem). */
export interface ServiceSpec {
  name: string;
  displayName: string;
  binaryPath: string;
  startType: number;
}

/** One SC_ACTION of the recovery settings. */
export interface FailureAction {
  type: number;
  delayMs: number;
}

/**
 * What {@link ScmApi.runDispatcher} answers when StartServiceCtrlDispatcherW returned FALSE: its
 * Win32 error stays on the worker thread that made the call, out of reach. In practice it is
 * ERROR_FAILED_SERVICE_CONTROLLER_CONNECT (1063): the process was not started by the SCM.
 */
export const DISPATCHER_FAILED = -2;

/** The advapi32 calls Tandem makes. */
export interface ScmApi {
  /**
   * StartServiceCtrlDispatcherW with one entry; resolves with 0 once the service stopped,
   * {@link DISPATCHER_FAILED} when the call returned FALSE, -1 when koffi could not make it.
   */
  runDispatcher(name: string, serviceMain: () => void): Promise<number>;
  /** RegisterServiceCtrlHandlerExW; `handler(control, eventType)` answers a Win32 code. */
  registerHandler(name: string, handler: (control: number, eventType: number) => number): Win32<ScHandle>;
  /** SetServiceStatus: 0 or the error. */
  setStatus(handle: ScHandle, status: ServiceStatus): number;
  /** OpenSCManagerW on this machine's active database. */
  openManager(access: number): Win32<ScHandle>;
  /** CreateServiceW: own process, SERVICE_ERROR_NORMAL, LocalSystem, no dependencies. */
  createService(manager: ScHandle, spec: ServiceSpec): Win32<ScHandle>;
  openService(manager: ScHandle, name: string, access: number): Win32<ScHandle>;
  /** ChangeServiceConfig2W(SERVICE_CONFIG_DESCRIPTION): 0 or the error. */
  setDescription(service: ScHandle, text: string): number;
  /**
   * ChangeServiceConfig2W(SERVICE_CONFIG_FAILURE_ACTIONS), then (…_FLAG) so the actions also
   * follow a stop with a non-zero exit code, not only a crash: 0 or the error.
   */
  setFailureActions(service: ScHandle, resetSeconds: number, actions: FailureAction[]): number;
  /** StartServiceW without arguments: 0 or the error. */
  startService(service: ScHandle): number;
  /** ControlService: the state it reports, or the error. */
  controlService(service: ScHandle, control: number): Win32<number>;
  /** QueryServiceStatus: the current state. */
  queryState(service: ScHandle): Win32<number>;
  /** DeleteService: 0 or the error. */
  deleteService(service: ScHandle): number;
  closeServiceHandle(handle: ScHandle): void;
}

type Fn = ((...args: unknown[]) => unknown) & { async: (...args: unknown[]) => void };

let loaded: ScmApi | undefined;

/**
 * Binds advapi32 through koffi, once per process (koffi's named types cannot be declared twice).
 * Fails (typed) anywhere but Windows.
 */
export function loadScmApi(): ScmApi {
  loaded ??= bind();
  return loaded;
}

function bind(): ScmApi {
  if (process.platform !== 'win32')
    throw new TandemError(ErrorCodes.USAGE, `the service control manager is Windows'; not on ${process.platform}`);
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const adv = koffi.load('advapi32.dll');
  const k32 = koffi.load('kernel32.dll');
  const f = (decl: string, lib = adv) => lib.func(decl) as unknown as Fn;
  const GetLastError = f('uint32_t __stdcall GetLastError()', k32);
  // Structs declared by name, for the prototypes below.
  koffi.struct('TANDEM_SERVICE_STATUS', {
    type: 'uint32_t',
    state: 'uint32_t',
    controlsAccepted: 'uint32_t',
    win32ExitCode: 'uint32_t',
    serviceSpecificExitCode: 'uint32_t',
    checkPoint: 'uint32_t',
    waitHint: 'uint32_t',
  });
  const MainProto = koffi.proto('void __stdcall TandemServiceMain(uint32_t argc, void *argv)');
  const HandlerProto = koffi.proto(
    'uint32_t __stdcall TandemHandlerEx(uint32_t control, uint32_t type, void *data, void *context)',
  );
  koffi.struct('TANDEM_SERVICE_TABLE_ENTRYW', { name: 'str16', main: koffi.pointer(MainProto) });
  const ACTION = koffi.struct('TANDEM_SC_ACTION', { type: 'int32_t', delay: 'uint32_t' });
  koffi.struct('TANDEM_SERVICE_FAILURE_ACTIONSW', {
    reset: 'uint32_t',
    rebootMsg: 'str16',
    command: 'str16',
    count: 'uint32_t',
    actions: koffi.pointer(ACTION),
  });
  koffi.struct('TANDEM_SERVICE_DESCRIPTIONW', { text: 'str16' });
  koffi.struct('TANDEM_SERVICE_FAILURE_ACTIONS_FLAG', { nonCrash: 'int32_t' });
  const Dispatcher = f('int __stdcall StartServiceCtrlDispatcherW(TANDEM_SERVICE_TABLE_ENTRYW *table)');
  const Register = f(
    'intptr_t __stdcall RegisterServiceCtrlHandlerExW(str16 name, TandemHandlerEx *handler, void *context)',
  );
  const SetServiceStatus = f('int __stdcall SetServiceStatus(intptr_t handle, TANDEM_SERVICE_STATUS *status)');
  const OpenSCManagerW = f('intptr_t __stdcall OpenSCManagerW(str16 machine, str16 database, uint32_t access)');
  const CreateServiceW = f(
    'intptr_t __stdcall CreateServiceW(intptr_t scm, str16 name, str16 display, uint32_t access, uint32_t type, uint32_t start, uint32_t error, str16 path, str16 group, void *tag, str16 deps, str16 account, str16 password)',
  );
  const OpenServiceW = f('intptr_t __stdcall OpenServiceW(intptr_t scm, str16 name, uint32_t access)');
  const SetDescription = f(
    'int __stdcall ChangeServiceConfig2W(intptr_t s, uint32_t level, TANDEM_SERVICE_DESCRIPTIONW *i)',
  );
  const SetActions = f(
    'int __stdcall ChangeServiceConfig2W(intptr_t s, uint32_t level, TANDEM_SERVICE_FAILURE_ACTIONSW *i)',
  );
  const SetFlag = f(
    'int __stdcall ChangeServiceConfig2W(intptr_t s, uint32_t level, TANDEM_SERVICE_FAILURE_ACTIONS_FLAG *i)',
  );
  const StartServiceW = f('int __stdcall StartServiceW(intptr_t s, uint32_t argc, void *argv)');
  const ControlService = f(
    'int __stdcall ControlService(intptr_t s, uint32_t control, _Out_ TANDEM_SERVICE_STATUS *st)',
  );
  const QueryServiceStatus = f('int __stdcall QueryServiceStatus(intptr_t s, _Out_ TANDEM_SERVICE_STATUS *st)');
  const DeleteService = f('int __stdcall DeleteService(intptr_t s)');
  const CloseServiceHandle = f('int __stdcall CloseServiceHandle(intptr_t h)');
  const fail = <T>(): Win32<T> => ({ ok: false, error: GetLastError() as number });
  const code = (ok: unknown): number => (ok ? 0 : (GetLastError() as number));
  const handle = (h: unknown): Win32<ScHandle> => (h ? { ok: true, value: h as number } : fail());
  const handlers: unknown[] = [];
  return {
    runDispatcher(name, serviceMain) {
      const main = koffi.register(() => serviceMain(), koffi.pointer(MainProto));
      // Marshalled into the call's own memory, which lives until the dispatcher returns.
      const table = [
        { name, main },
        { name: null, main: null },
      ];
      return new Promise((resolve) => {
        Dispatcher.async(table, (err: unknown, ok: number) => {
          const rc = err ? -1 : ok ? 0 : DISPATCHER_FAILED;
          koffi.unregister(main);
          for (const h of handlers.splice(0)) koffi.unregister(h as bigint);
          resolve(rc);
        });
      });
    },
    registerHandler(name, handler) {
      const cb = koffi.register((control: number, type: number) => handler(control, type), koffi.pointer(HandlerProto));
      handlers.push(cb);
      return handle(Register(name, cb, null));
    },
    setStatus: (h, s) => code(SetServiceStatus(h, { type: 0x10, ...s })),
    openManager: (access) => handle(OpenSCManagerW(null, null, access)),
    createService: (scm, s) =>
      handle(
        CreateServiceW(
          scm,
          s.name,
          s.displayName,
          0xf01ff,
          0x10,
          s.startType,
          1,
          s.binaryPath,
          null,
          null,
          null,
          null,
          null,
        ),
      ),
    openService: (scm, name, access) => handle(OpenServiceW(scm, name, access)),
    setDescription: (s, text) => code(SetDescription(s, 1, { text })),
    setFailureActions(s, reset, actions) {
      const list = actions.map((a) => ({ type: a.type, delay: a.delayMs }));
      const first = code(
        SetActions(s, 2, { reset, rebootMsg: null, command: null, count: list.length, actions: list }),
      );
      return first !== 0 ? first : code(SetFlag(s, 4, { nonCrash: 1 }));
    },
    startService: (s) => code(StartServiceW(s, 0, null)),
    controlService(s, control) {
      const st: Record<string, number> = {};
      return ControlService(s, control, st) ? { ok: true, value: st.state ?? 0 } : fail();
    },
    queryState(s) {
      const st: Record<string, number> = {};
      return QueryServiceStatus(s, st) ? { ok: true, value: st.state ?? 0 } : fail();
    },
    deleteService: (s) => code(DeleteService(s)),
    closeServiceHandle: (h) => void CloseServiceHandle(h),
  };
}
