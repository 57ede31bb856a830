/** The SCM host over the recording fake: the status sequence on start and stop, and every failure. */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, isTandemError, type Logger } from '@tandem/common';
import { DISPATCHER_FAILED } from '../src/advapi32-api-windows.js';
import {
  ACCEPT_STOP_SHUTDOWN,
  ERROR_CALL_NOT_IMPLEMENTED,
  ERROR_SERVICE_SPECIFIC_ERROR,
  SERVICE_NAME,
  START_WAIT_HINT_MS,
  STOP_WAIT_HINT_MS,
  ServiceControl,
  ServiceState,
  startScmHost,
} from '../src/service-windows.js';
import { FakeScm } from './lib/fake-scm.js';

const { STOPPED, START_PENDING, STOP_PENDING, RUNNING } = ServiceState;

function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log: Logger & { lines: string[] } = {
    lines,
    debug: () => undefined,
    info: (m) => void lines.push(`info ${m}`),
    warn: (m) => void lines.push(`warn ${m}`),
    error: (m) => void lines.push(`error ${m}`),
    child: () => log,
  };
  return log;
}

const states = (scm: FakeScm) => scm.statuses.map((s) => s.state);
const tick = () => new Promise((r) => setImmediate(r));

describe('Windows service host (SCM)', () => {
  it('START_PENDING → RUNNING → STOP_PENDING → STOPPED on a STOP control, and the dispatcher returns', async () => {
    const scm = new FakeScm();
    const host = await startScmHost(scm, recordingLog());
    expect(host.manager).toBe('scm');
    expect(host.active).toBe(true);
    expect(scm.calls).toEqual([
      `StartServiceCtrlDispatcherW(${SERVICE_NAME})`,
      `RegisterServiceCtrlHandlerExW(${SERVICE_NAME})`,
      'SetServiceStatus(77, state 2)',
    ]);
    expect(scm.statuses[0]).toEqual({
      state: START_PENDING,
      controlsAccepted: 0,
      win32ExitCode: 0,
      serviceSpecificExitCode: 0,
      checkPoint: 1,
      waitHint: START_WAIT_HINT_MS,
    });
    // Progress while starting bumps the checkpoint.
    host.status('recovering journals');
    expect(scm.statuses[1]).toMatchObject({ state: START_PENDING, checkPoint: 2 });
    host.ready('listening on \\\\.\\pipe\\tandem; machine tunnel: connecting');
    expect(scm.statuses[2]).toEqual({
      state: RUNNING,
      controlsAccepted: ACCEPT_STOP_SHUTDOWN,
      win32ExitCode: 0,
      serviceSpecificExitCode: 0,
      checkPoint: 0,
      waitHint: 0,
    });
    // Status lines while running are not SCM reports.
    host.status('machine tunnel: connected');
    expect(scm.statuses).toHaveLength(3);

    const stops: string[] = [];
    host.onStopRequest((why) => stops.push(why));
    expect(scm.control(ServiceControl.STOP)).toBe(0);
    expect(scm.statuses[3]).toMatchObject({
      state: STOP_PENDING,
      checkPoint: 1,
      waitHint: STOP_WAIT_HINT_MS,
      controlsAccepted: 0,
    });
    // The SCM's thread gets its answer first; the agent's stop runs after.
    expect(stops).toEqual([]);
    await tick();
    expect(stops).toEqual(['service stop']);
    // A second STOP (impatient administrator) starts nothing new.
    expect(scm.control(ServiceControl.STOP)).toBe(0);
    await tick();
    expect(stops).toEqual(['service stop']);
    // The agent's stop says "stopping" (ServiceReadiness): still STOP_PENDING, no second transition.
    host.stopping('stopping: tearing tunnels down');
    host.status('machine tunnel: disconnecting');
    expect(scm.statuses.slice(4).map((s) => [s.state, s.checkPoint])).toEqual([[STOP_PENDING, 2]]);
    await host.stopped(0);
    expect(scm.statuses.at(-1)).toEqual({
      state: STOPPED,
      controlsAccepted: 0,
      win32ExitCode: 0,
      serviceSpecificExitCode: 0,
      checkPoint: 0,
      waitHint: 0,
    });
    expect(states(scm)).toEqual([START_PENDING, START_PENDING, RUNNING, STOP_PENDING, STOP_PENDING, STOPPED]);
  });

  it('SHUTDOWN stops like STOP; INTERROGATE is answered; controls it does not accept (PAUSE, PRESHUTDOWN) are refused with Win32 error 120', async () => {
    const scm = new FakeScm();
    const host = await startScmHost(scm, recordingLog());
    host.ready('up');
    const stops: string[] = [];
    host.onStopRequest((why) => stops.push(why));
    expect(scm.control(ServiceControl.INTERROGATE)).toBe(0);
    expect(scm.control(2 /* PAUSE */)).toBe(ERROR_CALL_NOT_IMPLEMENTED);
    expect(scm.control(0x0f /* PRESHUTDOWN, not accepted */)).toBe(ERROR_CALL_NOT_IMPLEMENTED);
    expect(states(scm)).toEqual([START_PENDING, RUNNING]);
    expect(scm.control(ServiceControl.SHUTDOWN)).toBe(0);
    await tick();
    expect(stops).toEqual(['system shutdown']);
    expect(states(scm).at(-1)).toBe(STOP_PENDING);
  });

  it('a stop the agent starts itself (fatal error) reports STOP_PENDING, then STOPPED with its exit code', async () => {
    const scm = new FakeScm();
    const host = await startScmHost(scm, recordingLog());
    host.ready('up');
    host.stopping('fatal: uncaught exception');
    await host.stopped(70);
    expect(scm.statuses.at(-1)).toMatchObject({
      state: STOPPED,
      win32ExitCode: ERROR_SERVICE_SPECIFIC_ERROR,
      serviceSpecificExitCode: 70,
    });
    expect(states(scm)).toEqual([START_PENDING, RUNNING, STOP_PENDING, STOPPED]);
    // Reported once.
    await host.stopped(70);
    expect(states(scm)).toHaveLength(4);
  });

  it('a start that fails before ready goes START_PENDING → STOPPED with the code', async () => {
    const scm = new FakeScm();
    const host = await startScmHost(scm, recordingLog());
    await host.stopped(70);
    expect(states(scm)).toEqual([START_PENDING, STOPPED]);
  });

  it('refuses, typed, when not started by the SCM or when the handler cannot be registered', async () => {
    const notScm = new FakeScm();
    notScm.dispatcherResult = DISPATCHER_FAILED;
    const e1 = await startScmHost(notScm, recordingLog()).catch((e: unknown) => e);
    expect(isTandemError(e1, ErrorCodes.USAGE)).toBe(true);
    expect((e1 as Error).message).toContain('tandemd --service runs only when the service control manager starts it');

    const noHandler = new FakeScm();
    noHandler.registerError = 1063;
    const e2 = await startScmHost(noHandler, recordingLog()).catch((e: unknown) => e);
    expect(isTandemError(e2, ErrorCodes.INTERNAL)).toBe(true);
    expect((e2 as Error).message).toBe('RegisterServiceCtrlHandlerExW failed: Win32 error 1063');
    expect(noHandler.statuses).toEqual([]);
  });

  it('a refused SetServiceStatus is logged with its code, never thrown into the agent', async () => {
    const scm = new FakeScm();
    const log = recordingLog();
    const host = await startScmHost(scm, log);
    scm.setStatusError = 6;
    expect(() => host.ready('up')).not.toThrow();
    expect(log.lines).toContain('warn SetServiceStatus failed: Win32 error 6');
  });
});
