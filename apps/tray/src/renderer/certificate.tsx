/**
 * The certificate picker: every candidate with subject, issuer, expiry and store. Refused ones
 * show the certs package's reasons and cannot be chosen. The answer is the chosen thumbprint,
 * and `remember` when the profile allows remembering and the user ticked the box.
 */
import { useState } from 'preact/hooks';
import type { PromptView } from '../core/bridge.js';
import { Buttons, Modal, type PromptProps } from './modal.js';

type CertificatePrompt = Extract<PromptView, { kind: 'certificate' }>;

/** See the module comment. */
export function CertificatePicker({ prompt, t, locale, answer, failure }: PromptProps<CertificatePrompt>) {
  const [chosen, setChosen] = useState(prompt.candidates.find((c) => c.accepted)?.sha256);
  const [remember, setRemember] = useState(false);
  const id = `prompt-${prompt.id}`;
  const date = new Intl.DateTimeFormat(locale, { dateStyle: 'medium' });
  const fact = (name: string, value: string) => (
    <span class="fact">
      <span class="name">{name}</span> <span class="value">{value}</span>
    </span>
  );
  return (
    <Modal labelledBy={`${id}-title`} onCancel={() => answer(false)} failure={failure}>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (chosen) answer(true, chosen, prompt.remember && remember);
        }}
      >
        <h2 id={`${id}-title`}>{t('prompt.certificateTitle')}</h2>
        <div class="certificates" role="radiogroup" aria-labelledby={`${id}-title`}>
          {prompt.candidates.map((c, i) => (
            <div class={c.accepted ? 'certificate' : 'certificate refused'} key={c.sha256}>
              <input
                type="radio"
                id={`${id}-cert-${i}`}
                name={`${id}-cert`}
                value={c.sha256}
                disabled={!c.accepted}
                checked={chosen === c.sha256}
                onChange={() => setChosen(c.sha256)}
              />
              <label for={`${id}-cert-${i}`}>
                {fact(t('prompt.subject'), c.subject)}
                {fact(t('prompt.issuer'), c.issuer)}
                {fact(t('prompt.expires'), date.format(new Date(c.notAfter)))}
                {fact(t('prompt.store'), c.store)}
                {!c.accepted && <span class="reasons">{t('prompt.refused', { reasons: c.reasons.join('; ') })}</span>}
              </label>
            </div>
          ))}
        </div>
        {prompt.remember && (
          <div class="option">
            <input
              type="checkbox"
              id={`${id}-remember`}
              checked={remember}
              onChange={(event) => setRemember(event.currentTarget.checked)}
            />
            <label for={`${id}-remember`}>{t('prompt.remember')}</label>
          </div>
        )}
        <Buttons
          accept={t('prompt.useCertificate')}
          decline={t('prompt.cancel')}
          onDecline={() => answer(false)}
          acceptDisabled={chosen === undefined}
        />
      </form>
    </Modal>
  );
}
