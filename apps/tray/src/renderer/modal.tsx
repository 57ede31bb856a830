/**
 * One modal dialog: the native `<dialog>` opened with showModal (the rest of the window becomes
 * inert), focus moved in on open and back where it was on close, Tab kept inside, and Escape
 * (the dialog's `cancel`) reported as a cancel — the one way every prompt is declined.
 */
import type { ComponentChildren } from 'preact';
import type { PromptView } from '../core/bridge.js';
import type { Translate } from './api.js';
import { useEffect, useRef } from 'preact/hooks';

const FOCUSABLE = 'button:not([disabled]), input:not([disabled]), select:not([disabled]), [tabindex="0"]';

/** Where focus goes when the element that opened a dialog is gone or disabled by the time it closes. */
function focusFallback(): void {
  const target = document.querySelector<HTMLElement>(`main :is(${FOCUSABLE})`);
  target?.focus();
}

/** Props of {@link Modal}. */
export interface ModalProps {
  /** Id of the element that names the dialog (its heading). */
  labelledBy: string;
  describedBy?: string;
  /** Escape, or the dialog closing by any other way than an answer. */
  onCancel: () => void;
  /** Why the last answer was refused: shown inside, since the window behind a modal dialog is inert. */
  failure?: string | undefined;
  children: ComponentChildren;
}

/** See the module comment. Mount it to open, unmount it to close. */
export function Modal({ labelledBy, describedBy, onCancel, failure, children }: ModalProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const cancel = useRef(onCancel);
  cancel.current = onCancel;
  const unmounting = useRef(false);
  useEffect(() => {
    const dialog = ref.current!;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    dialog.showModal();
    const first = dialog.querySelector<HTMLElement>('[data-autofocus]') ?? dialog.querySelector<HTMLElement>(FOCUSABLE);
    first?.focus();
    return () => {
      unmounting.current = true;
      if (dialog.open) dialog.close();
      if (opener?.isConnected && !opener.matches(':disabled')) opener.focus();
      else focusFallback();
    };
  }, []);
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key !== 'Tab') return;
    const items = [...ref.current!.querySelectorAll<HTMLElement>(FOCUSABLE)];
    if (items.length === 0) return;
    const [first, last] = [items[0]!, items[items.length - 1]!];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  };
  return (
    <dialog
      ref={ref}
      aria-labelledby={labelledBy}
      aria-describedby={describedBy}
      onKeyDown={onKeyDown}
      onCancel={(event) => {
        // The answer removes the prompt from the view, which unmounts (and closes) the dialog.
        event.preventDefault();
        cancel.current();
      }}
      onClose={() => {
        if (!unmounting.current) cancel.current();
      }}
    >
      {children}
      {failure && (
        <p class="failure" role="alert">
          {failure}
        </p>
      )}
    </dialog>
  );
}

/** How a dialog answers: `answer` carries the text, secret, choice or thumbprint. */
export type Answer = (accepted: boolean, answer?: string, remember?: boolean) => void;

/** Props shared by every prompt dialog. */
export interface PromptProps<P extends PromptView = PromptView> {
  prompt: P;
  t: Translate;
  locale: string;
  answer: Answer;
  /** See {@link ModalProps.failure}. */
  failure?: string | undefined;
}

/** The two buttons at the bottom of every dialog; the first submits the dialog's form. */
export function Buttons({
  accept,
  decline,
  onDecline,
  acceptDisabled = false,
}: {
  accept: string;
  decline: string;
  onDecline: () => void;
  acceptDisabled?: boolean;
}) {
  return (
    <div class="buttons">
      <button type="submit" class="primary" disabled={acceptDisabled}>
        {accept}
      </button>
      <button type="button" onClick={onDecline}>
        {decline}
      </button>
    </div>
  );
}
