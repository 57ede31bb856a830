/**
 * The diagnostic bundle's line under its button: the phase while it is built, then where it was
 * saved with the note on its redaction map, or why it failed. A live region that is always there,
 * so screen readers announce each change.
 */
import type { TrayView } from '../core/bridge.js';
import type { Translate } from './api.js';

type State = TrayView['diagnostics'];

/** Whether a bundle is being built (its button waits for it). */
export const bundleRunning = (state: State): boolean =>
  state !== undefined && state.phase !== 'done' && state.phase !== 'failed';

function lines(state: NonNullable<State>, t: Translate) {
  switch (state.phase) {
    case 'collecting':
      return <p>{t('window.diagCollecting')}</p>;
    case 'receiving':
      return <p>{t('window.diagReceiving', { done: String(state.done), total: String(state.total) })}</p>;
    case 'writing':
      return <p>{t('window.diagWriting')}</p>;
    case 'done':
      return (
        <>
          <p id="bundle-saved">{t('window.diagSaved', { id: state.bundleId, path: state.path })}</p>
          {state.mapPath && <p class="hint">{t('window.diagMap', { map: state.mapPath })}</p>}
        </>
      );
    case 'failed':
      return <p class="failure">{t('window.diagFailed', { message: state.message, code: state.code })}</p>;
  }
}

/** See the module comment. */
export function BundleStatus({ state, t }: { state: State; t: Translate }) {
  return (
    <div id="bundle-status" class="bundle-status" role="status">
      {state && lines(state, t)}
    </div>
  );
}
