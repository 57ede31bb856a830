/**
 * The prompts as modal dialogs. Every text from the gateway or the agent is rendered as text
 * nodes (never parsed as HTML). Accept sends `prompt.answer {id, accepted: true, answer}`;
 * Decline, Cancel and Escape send `accepted: false`.
 */
import type { PromptView } from '../core/bridge.js';
import { CertificatePicker } from './certificate.js';
import { useState } from 'preact/hooks';
import { Buttons, Modal, type PromptProps } from './modal.js';

type Of<K extends PromptView['kind']> = Extract<PromptView, { kind: K }>;

const submit = (then: () => void) => (event: SubmitEvent) => {
  event.preventDefault();
  then();
};

function Banner({ prompt, t, answer, failure }: PromptProps<Of<'banner'>>) {
  const title = `prompt-${prompt.id}-title`;
  return (
    <Modal labelledBy={title} onCancel={() => answer(false)} failure={failure}>
      <form onSubmit={submit(() => answer(true))}>
        <h2 id={title}>{t('prompt.bannerTitle')}</h2>
        {/* Focusable so a long banner scrolls with the keyboard; read first, then Accept. */}
        <div class="banner-text" role="region" aria-labelledby={title} tabIndex={0} data-autofocus>
          {prompt.text}
        </div>
        <Buttons accept={t('prompt.accept')} decline={t('prompt.decline')} onDecline={() => answer(false)} />
      </form>
    </Modal>
  );
}

function Confirm({ prompt, t, answer, failure }: PromptProps<Of<'confirm'>>) {
  const [title, message] = [`prompt-${prompt.id}-title`, `prompt-${prompt.id}-message`];
  return (
    <Modal labelledBy={title} describedBy={message} onCancel={() => answer(false)} failure={failure}>
      <form onSubmit={submit(() => answer(true))}>
        <h2 id={title}>{prompt.title}</h2>
        <p id={message} class="message">
          {prompt.message}
        </p>
        <Buttons accept={t('prompt.ok')} decline={t('prompt.cancel')} onDecline={() => answer(false)} />
      </form>
    </Modal>
  );
}

/** A text or secret prompt: its message labels the field; Enter submits. */
function Field({ prompt, t, answer, failure }: PromptProps<Of<'text' | 'secret'>>) {
  const [value, setValue] = useState('');
  const [title, input] = [`prompt-${prompt.id}-title`, `prompt-${prompt.id}-input`];
  const fieldProps = {
    autocomplete: 'off',
    maxLength: 4096,
    value,
    onInput: (event: { currentTarget: HTMLInputElement }) => setValue(event.currentTarget.value),
    'data-autofocus': true,
  };
  return (
    <Modal labelledBy={title} onCancel={() => answer(false)} failure={failure}>
      <form onSubmit={submit(() => answer(true, value))}>
        <h2 id={title}>{prompt.title}</h2>
        <label for={input} class="field-label">
          {prompt.message}
        </label>
        {prompt.kind === 'secret' ? (
          <input id={input} type="password" {...fieldProps} />
        ) : (
          <input id={input} type="text" spellcheck={false} {...fieldProps} />
        )}
        <Buttons accept={t('prompt.ok')} decline={t('prompt.cancel')} onDecline={() => answer(false)} />
      </form>
    </Modal>
  );
}

function Choice({ prompt, t, answer, failure }: PromptProps<Of<'choice'>>) {
  const [chosen, setChosen] = useState(prompt.choices[0]);
  const [title, legend] = [`prompt-${prompt.id}-title`, `prompt-${prompt.id}-legend`];
  return (
    <Modal labelledBy={title} onCancel={() => answer(false)} failure={failure}>
      <form onSubmit={submit(() => answer(true, chosen))}>
        <h2 id={title}>{prompt.title}</h2>
        <fieldset>
          <legend id={legend}>{prompt.message}</legend>
          {prompt.choices.map((choice, i) => (
            <div class="option" key={choice}>
              <input
                type="radio"
                id={`prompt-${prompt.id}-choice-${i}`}
                name={`prompt-${prompt.id}-choice`}
                value={choice}
                checked={chosen === choice}
                onChange={() => setChosen(choice)}
              />
              <label for={`prompt-${prompt.id}-choice-${i}`}>{choice}</label>
            </div>
          ))}
        </fieldset>
        <Buttons
          accept={t('prompt.ok')}
          decline={t('prompt.cancel')}
          onDecline={() => answer(false)}
          acceptDisabled={chosen === undefined}
        />
      </form>
    </Modal>
  );
}

/** The dialog for the pending prompt (keyed by its id, so each prompt starts fresh). */
export function PromptDialog(props: PromptProps) {
  const p = props.prompt;
  switch (p.kind) {
    case 'banner':
      return <Banner {...props} prompt={p} />;
    case 'confirm':
      return <Confirm {...props} prompt={p} />;
    case 'text':
    case 'secret':
      return <Field {...props} prompt={p} />;
    case 'choice':
      return <Choice {...props} prompt={p} />;
    case 'certificate':
      return <CertificatePicker {...props} prompt={p} />;
  }
}
