/**
 * Ctrl-C for long-running API commands (`watch`, `connect`): the first SIGINT/SIGTERM is turned
 * into a promise the command races against, so it can clean up (ask the agent to disconnect)
 * instead of dying mid-call.
 */

/** A pending interruption; `dispose` removes the signal handlers again. */
export interface Interrupt {
  /** Resolves with the signal's name when the user interrupts. */
  readonly signalled: Promise<'SIGINT' | 'SIGTERM'>;
  /** True once a signal arrived (to skip work not yet started). */
  readonly fired: boolean;
  dispose(): void;
}

/** Starts listening for SIGINT and SIGTERM. */
export function onInterrupt(): Interrupt {
  let resolveSignal: (s: 'SIGINT' | 'SIGTERM') => void = () => undefined;
  const signalled = new Promise<'SIGINT' | 'SIGTERM'>((resolve) => {
    resolveSignal = resolve;
  });
  let fired = false;
  const fire = (s: 'SIGINT' | 'SIGTERM'): void => {
    fired = true;
    resolveSignal(s);
  };
  const onInt = (): void => fire('SIGINT');
  const onTerm = (): void => fire('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    signalled,
    get fired() {
      return fired;
    },
    dispose() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}

/** Exit code of a command ended by Ctrl-C (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;
