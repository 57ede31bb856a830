/**
 * `tandemd --install-service` / `--uninstall-service` on Windows, through the service control
 * manager ({@link ScmApi}). The service:
 *
 * - is `tandemd`, SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START (the machine tunnel comes up at
 *   boot, before anyone logs in), runs as LocalSystem;
 * - runs `"<node.exe>" "<agent script>" --service <options>`: every part quoted, so a path with
 *   spaces can never be read as another program (the unquoted service path flaw); a part with a
 *   quote or a control character is refused;
 * - restarts after a failure (5 s, 5 s, then 30 s; the count resets after a day), also after a
 *   stop with a non-zero exit code, like systemd's Restart=on-failure.
 *
 * Install starts it at once; uninstall stops it (waiting until it has stopped) and deletes it.
 */
import { win32 } from 'node:path';
import { ErrorCodes, TandemError } from '@tandem/common';
import type { ScHandle, ScmApi } from './advapi32-api-windows.js';
import type { InstallRequest } from './service-host.js';
import { SERVICE_NAME, ServiceControl, ServiceState } from './service-windows.js';

export const SC_MANAGER_CONNECT = 0x1;
export const SC_MANAGER_CREATE_SERVICE = 0x2;
export const SERVICE_AUTO_START = 0x2;
/** SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE. */
export const UNINSTALL_ACCESS = 0x20 | 0x4 | 0x10000;
export const SC_ACTION_RESTART = 1;
/** Recovery: restart after 5 s, 5 s, 30 s; failures counted over a day. */
export const RECOVERY = { resetSeconds: 86_400, actions: [5_000, 5_000, 30_000] } as const;
export const DISPLAY_NAME = 'Tandem VPN agent';
export const DESCRIPTION = 'Tandem: AnyConnect-compatible certificate VPN (machine and user tunnels).';

const ERRORS: Record<number, [TandemError['code'], string]> = {
  5: [ErrorCodes.PERMISSION, 'access denied: run it from an elevated (administrator) prompt'],
  1060: [ErrorCodes.USAGE, 'the service tandemd is not installed'],
  1072: [ErrorCodes.USAGE, 'the service tandemd is marked for deletion: close the Services console and retry'],
  1073: [ErrorCodes.USAGE, 'the service tandemd exists already: tandemd --uninstall-service first'],
  1078: [ErrorCodes.USAGE, 'the display name is used by another service'],
};

/** A failed SCM call as a typed error naming the call and the Win32 code. */
export function scmFailure(call: string, code: number): TandemError {
  const [kind, hint] = ERRORS[code] ?? [ErrorCodes.INTERNAL, ''];
  return new TandemError(kind, `${call} failed: Win32 error ${code}${hint ? `: ${hint}` : ''}`, {
    details: { call, win32Error: code },
  });
}

/** The service's command line, every part quoted. */
export function serviceCommandLine(request: Pick<InstallRequest, 'execPath' | 'script' | 'args'>): string {
  for (const [what, path] of [
    ['runtime', request.execPath],
    ['script', request.script],
  ] as const) {
    if (!win32.isAbsolute(path)) throw new TandemError(ErrorCodes.USAGE, `the ${what} path must be absolute: ${path}`);
  }
  const parts = [request.execPath, request.script, '--service', ...request.args];
  for (const part of parts) {
    // eslint-disable-next-line no-control-regex -- control characters are what this refuses
    if (part.length === 0 || /["\u0000-\u001f]/.test(part))
      throw new TandemError(ErrorCodes.USAGE, `cannot put ${JSON.stringify(part)} on a service command line`);
  }
  // A backslash run before the closing quote would escape it: doubled, as CommandLineToArgvW reads it.
  return parts.map((p) => `"${p.replace(/(\\+)$/, '$1$1')}"`).join(' ');
}

/** Registers and starts the service; resolves with a line for the administrator. */
export async function installWindowsService(api: ScmApi, request: InstallRequest): Promise<string> {
  const binaryPath = serviceCommandLine(request);
  const scm = api.openManager(SC_MANAGER_CONNECT | SC_MANAGER_CREATE_SERVICE);
  if (!scm.ok) throw scmFailure('OpenSCManagerW', scm.error);
  const handles: ScHandle[] = [scm.value];
  try {
    const svc = api.createService(scm.value, {
      name: SERVICE_NAME,
      displayName: DISPLAY_NAME,
      binaryPath,
      startType: SERVICE_AUTO_START,
    });
    if (!svc.ok) throw scmFailure('CreateServiceW', svc.error);
    handles.push(svc.value);
    const steps: Array<[string, () => number]> = [
      ['ChangeServiceConfig2W(DESCRIPTION)', () => api.setDescription(svc.value, DESCRIPTION)],
      [
        'ChangeServiceConfig2W(FAILURE_ACTIONS)',
        () =>
          api.setFailureActions(
            svc.value,
            RECOVERY.resetSeconds,
            RECOVERY.actions.map((delayMs) => ({ type: SC_ACTION_RESTART, delayMs })),
          ),
      ],
    ];
    for (const [call, step] of steps) {
      const rc = step();
      if (rc === 0) continue;
      // Half a service is worse than none: take it away again.
      api.deleteService(svc.value);
      throw scmFailure(call, rc);
    }
    const started = api.startService(svc.value);
    if (started !== 0) {
      const err = scmFailure('StartServiceW', started);
      throw new TandemError(err.code, `installed, but not started: ${err.message}`, { details: err.details });
    }
    return `installed and started the service ${SERVICE_NAME}: ${binaryPath}`;
  } finally {
    for (const h of handles.reverse()) api.closeServiceHandle(h);
  }
}

/** Stops the service (waiting up to `waitMs`) and deletes it; resolves with a line for the administrator. */
export async function uninstallWindowsService(
  api: ScmApi,
  waitMs = 30_000,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<string> {
  const scm = api.openManager(SC_MANAGER_CONNECT);
  if (!scm.ok) throw scmFailure('OpenSCManagerW', scm.error);
  const handles: ScHandle[] = [scm.value];
  try {
    const svc = api.openService(scm.value, SERVICE_NAME, UNINSTALL_ACCESS);
    if (!svc.ok) throw scmFailure('OpenServiceW', svc.error);
    handles.push(svc.value);
    const stop = api.controlService(svc.value, ServiceControl.STOP);
    // 1062 ERROR_SERVICE_NOT_ACTIVE: stopped already; 1061 CANNOT_ACCEPT_CTRL: starting or stopping — wait.
    if (!stop.ok && stop.error !== 1062 && stop.error !== 1061) throw scmFailure('ControlService(STOP)', stop.error);
    for (let waited = 0; ; waited += 250) {
      const q = api.queryState(svc.value);
      if (!q.ok) throw scmFailure('QueryServiceStatus', q.error);
      if (q.value === ServiceState.STOPPED) break;
      if (waited >= waitMs)
        throw new TandemError(
          ErrorCodes.INTERNAL,
          `the service ${SERVICE_NAME} did not stop within ${waitMs / 1000} s`,
        );
      await sleep(250);
    }
    const deleted = api.deleteService(svc.value);
    if (deleted !== 0 && deleted !== 1072) throw scmFailure('DeleteService', deleted);
    return `stopped and removed the service ${SERVICE_NAME}`;
  } finally {
    for (const h of handles.reverse()) api.closeServiceHandle(h);
  }
}
