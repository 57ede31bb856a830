/**
 * The tray's window: a pure function of the {@link TrayView} the main process sends. The only
 * state kept here is what a request failed with (until the next request) and the form fields
 * inside a dialog; everything else arrives in the next view.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Locale, TrayView } from '../core/bridge.js';
import { pickLocale } from '../core/i18n.js';
import { call, translator, type RequestFailure } from './api.js';
import { BundleStatus, bundleRunning } from './bundle.js';
import { StateIcon } from './icons.js';
import { PromptDialog } from './prompts.js';
import { Statistics } from './stats.js';

/** Shown until the first view arrives. */
function waitingView(locale: Locale): TrayView {
  return {
    locale,
    agent: 'connecting',
    icon: 'disconnected',
    sentence: { key: 'state.agentConnecting' },
    management: { key: 'mgmt.disconnected' },
    hosts: [],
    canConnect: false,
    canDisconnect: false,
  };
}

/** See the module comment. */
export function App() {
  const [received, setView] = useState<TrayView | null>(null);
  const [failure, setFailure] = useState<RequestFailure | null>(null);
  const answered = useRef(new Set<number>());
  useEffect(() => {
    const off = window.tandem?.onView((next) => setView(next));
    void call('view', {}).then((reply) => {
      // A view pushed meanwhile is newer than this answer.
      if (reply.ok) setView((current) => current ?? reply.result);
      else setFailure(reply.error);
    });
    return off;
  }, []);
  const view = received ?? waitingView(pickLocale(navigator.language));
  const t = useMemo(() => translator(view.locale), [view.locale]);
  useEffect(() => {
    document.documentElement.lang = view.locale;
    document.title = t('app.name');
  }, [view.locale, t]);

  const run = async <R,>(pending: Promise<{ ok: true; result: R } | { ok: false; error: RequestFailure }>) => {
    const reply = await pending;
    setFailure(reply.ok ? null : reply.error);
    return reply.ok ? reply.result : null;
  };
  const host = view.selectedHost ?? view.hosts[0]?.name;
  const prompt = view.prompt;
  // A new question starts clean: an earlier failure belongs to what the user did before it.
  useEffect(() => setFailure(null), [prompt?.id]);
  const answer = (accepted: boolean, text?: string, remember?: boolean) => {
    if (!prompt || answered.current.has(prompt.id)) return;
    answered.current.add(prompt.id);
    const params = { id: prompt.id, accepted, ...(text !== undefined ? { answer: text } : {}) };
    void run(call('prompt.answer', remember ? { ...params, remember } : params)).then((result) => {
      // Refused (shown as a failure): the dialog is still there, so the user may answer again.
      if (result === null) answered.current.delete(params.id);
    });
  };
  // The build's progress and outcome arrive in the view, so the reply itself carries nothing new.
  const createBundle = () => void call('diagnostics.bundle', {});
  const notice = view.notice;
  const failureText = (f: RequestFailure) => t('window.requestFailed', { message: f.message, code: f.code });

  return (
    <>
      <main>
        <h1>{t('app.name')}</h1>
        <section class={`state state-${view.icon}`} aria-labelledby="sentence">
          <StateIcon icon={view.icon} t={t} />
          <div>
            <p id="sentence" class="sentence" role="status">
              {t(view.sentence)}
            </p>
            {view.error && (
              <p class="error-code">
                {t('window.errorCode')}: <code>{view.error.code}</code>
              </p>
            )}
          </div>
        </section>

        <section class="connect">
          {view.hosts.length > 0 ? (
            <div class="host">
              <label for="host">{t('window.host')}</label>
              <select
                id="host"
                value={host}
                onChange={(event) => void run(call('host.select', { host: event.currentTarget.value }))}
              >
                {view.hosts.map((entry) => (
                  <option key={entry.name} value={entry.name}>
                    {entry.name}
                  </option>
                ))}
              </select>
            </div>
          ) : (
            <p class="hint">{t('window.noHosts')}</p>
          )}
          <div class="buttons">
            <button
              type="button"
              id="connect"
              class="primary"
              disabled={!view.canConnect || host === undefined}
              onClick={() => host !== undefined && void run(call('connect', { host }))}
            >
              {t('window.connect')}
            </button>
            <button
              type="button"
              id="disconnect"
              disabled={!view.canDisconnect}
              onClick={() => void run(call('disconnect', {}))}
            >
              {t('window.disconnect')}
            </button>
          </div>
        </section>

        <dl class="facts">
          <dt>{t('window.management')}</dt>
          <dd id="management">{t(view.management)}</dd>
          {view.network && <dt>{t('window.network')}</dt>}
          {view.network && <dd id="network">{t(view.network)}</dd>}
        </dl>

        {view.stats && <Statistics sections={view.stats} t={t} />}

        <footer>
          <button
            type="button"
            id="diagnostics"
            disabled={view.agent !== 'up' || bundleRunning(view.diagnostics)}
            onClick={createBundle}
          >
            {t('window.diagnostics')}
          </button>
          <BundleStatus state={view.diagnostics} t={t} />
          <p id="notice" class="notice" role="status">
            {notice ? t(notice) : ''}
          </p>
          {failure && !prompt && (
            <p id="failure" class="failure" role="alert">
              {failureText(failure)}
            </p>
          )}
        </footer>
      </main>
      {prompt && (
        <PromptDialog
          key={prompt.id}
          prompt={prompt}
          t={t}
          locale={view.locale}
          answer={answer}
          failure={failure ? failureText(failure) : undefined}
        />
      )}
    </>
  );
}
