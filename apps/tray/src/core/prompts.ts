/**
 * Questions for the user: the agent's reverse `prompt` requests (and the signer's own PIN and
 * passphrase questions) wait here as {@link PromptView}s with ids; the window shows the oldest
 * and answers it with the bridge's `prompt.answer`. When the agent connection closes, every
 * question it asked is cancelled — nobody is waiting for the answer any more.
 *
 * Secrets typed by the user are never logged and are known to the redactor only while they
 * may still travel (see {@link SecretKeeper}).
 */
import { ErrorCodes, redactor, TandemError } from '@tandem/common';
import type { ReverseParams, ReverseResult } from '@tandem/contract';
import type { UserSignerOptions } from '@tandem/signer';
import type { Locale, PromptView } from './bridge.js';
import { msg, translate } from './i18n.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A question before it gets its id. */
export type PromptRequest = DistributiveOmit<PromptView, 'id'>;

/** The user's answer: `accepted` false declines or cancels. */
export interface PromptAnswer {
  accepted: boolean;
  answer?: string;
  /** A certificate prompt that offered it: the user asked to keep this choice. */
  remember?: boolean;
}

const CANCELLED: PromptAnswer = { accepted: false };

/**
 * Secrets the user typed, registered with the redactor while they are in use (the agent is
 * still authenticating with them, the signer still unlocking a key) and forgotten afterwards,
 * so the process-wide redactor does not grow with every PIN ever typed.
 */
export class SecretKeeper {
  private readonly held = new Set<string>();

  /** Registers `value` with the redactor until {@link releaseAll}. */
  hold(value: string): void {
    redactor.addSecret(value);
    this.held.add(value);
  }

  /** How many secrets are held (for tests; never the values). */
  get size(): number {
    return this.held.size;
  }

  /** Forgets every held secret. */
  releaseAll(): void {
    for (const v of this.held) redactor.removeSecret(v);
    this.held.clear();
  }
}

interface Waiting {
  view: PromptView;
  resolve(answer: PromptAnswer): void;
}

const badAnswer = (why: string): TandemError => new TandemError(ErrorCodes.IPC_PARAMS, why);

/** The queue of questions; the view shows the oldest. */
export class PromptQueue {
  private readonly waiting: Waiting[] = [];
  private readonly listeners = new Set<() => void>();
  private nextId = 1;

  constructor(private readonly secrets: SecretKeeper) {}

  /** Queues a question and resolves with the user's answer (or a cancel). */
  ask(request: PromptRequest): Promise<PromptAnswer> {
    const view = { ...request, id: this.nextId++ } as PromptView;
    return new Promise((resolve) => {
      this.waiting.push({ view, resolve });
      this.changed();
    });
  }

  /** The question the window shows, if any. */
  current(): PromptView | undefined {
    return this.waiting[0]?.view;
  }

  /** How many questions wait, the shown one included. */
  get length(): number {
    return this.waiting.length;
  }

  /**
   * Answers question `id`. An unknown id (already answered or cancelled) and an answer the
   * question does not allow — a choice not offered, a certificate that was refused — are typed
   * errors, so a confused or hostile window cannot pick for the user.
   */
  answer(id: number, accepted: boolean, answer?: string, remember?: boolean): void {
    const at = this.waiting.findIndex((w) => w.view.id === id);
    if (at < 0) throw badAnswer(`no question ${id} is waiting`);
    const { view, resolve } = this.waiting[at]!;
    const result = accepted ? checkAnswer(view, answer) : CANCELLED;
    // Only a picker that offered "remember" can be told to remember.
    if (result.accepted && remember === true && view.kind === 'certificate' && view.remember) result.remember = true;
    if (result.accepted && view.kind === 'secret' && result.answer) this.secrets.hold(result.answer);
    this.waiting.splice(at, 1);
    resolve(result);
    this.changed();
  }

  /** Cancels every waiting question (the connection that asked them is gone). */
  cancelAll(): void {
    if (this.waiting.length === 0) return;
    for (const w of this.waiting.splice(0)) w.resolve(CANCELLED);
    this.changed();
  }

  /** Called whenever the shown question may have changed. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const l of [...this.listeners]) l();
  }
}

function checkAnswer(view: PromptView, answer: string | undefined): PromptAnswer {
  switch (view.kind) {
    case 'banner':
    case 'confirm':
      return { accepted: true };
    case 'text':
    case 'secret':
      if (answer === undefined) throw badAnswer(`question ${view.id} needs an answer`);
      return { accepted: true, answer };
    case 'choice':
      if (answer === undefined || !view.choices.includes(answer))
        throw badAnswer(`question ${view.id}: not one of the choices`);
      return { accepted: true, answer };
    case 'certificate':
      if (!view.candidates.some((c) => c.accepted && c.sha256 === answer))
        throw badAnswer(`question ${view.id}: not one of the usable certificates`);
      return { accepted: true, answer: answer! };
  }
}

/**
 * The view of one agent `prompt`, or null for a kind this tray does not know (a newer agent):
 * such a question is cancelled, which fails the attempt instead of leaving it hanging.
 * The login banner (API 1.5) becomes the banner dialog: Accept continues, Decline disconnects.
 */
export function promptRequestOf(p: ReverseParams<'prompt'>): PromptRequest | null {
  const { title, message } = p;
  switch (p.kind) {
    case 'confirm':
    case 'text':
    case 'secret':
      return { kind: p.kind, title, message };
    case 'choice':
      return { kind: 'choice', title, message, choices: [...(p.choices ?? [])] };
    case 'banner':
      return { kind: 'banner', text: message };
    default:
      return null;
  }
}

/** The agent's reverse `prompt`: the question goes to the window, the answer back to the agent. */
export function promptHandler(queue: PromptQueue): (p: ReverseParams<'prompt'>) => Promise<ReverseResult<'prompt'>> {
  return async (p) => {
    const request = promptRequestOf(p);
    if (request === null) return { cancelled: true };
    const { accepted, answer } = await queue.ask(request);
    if (!accepted) return { cancelled: true };
    // The CLI answers a confirmation with "yes" too: the agent reads only `cancelled` there.
    return { cancelled: false, answer: answer ?? 'yes' };
  };
}

/** The signer's secret callback (a token PIN, or the passphrase of a key file or PKCS#12 bundle), asked through the window in the user's language. */
export function askSecret(queue: PromptQueue, locale: () => Locale): UserSignerOptions['secret'] {
  return async ({ kind, origin }) => {
    const l = locale();
    const { accepted, answer } = await queue.ask({
      kind: 'secret',
      title: translate(l, msg('prompt.unlockTitle')).slice(0, 256),
      message: translate(l, msg(kind === 'pin' ? 'prompt.pin' : 'prompt.passphrase', { origin })).slice(0, 4096),
    });
    return accepted && answer !== undefined ? answer : null;
  };
}

/** Where the tray keeps the thumbprint a user chose to remember. */
export interface RememberedCertificate {
  get(): string | undefined;
  set(sha256: string): void;
}

/**
 * The agent's `certs.choose` (API 1.5): the picker. Where the profile lets the choice be
 * remembered and the remembered certificate is still among the accepted, it is used without
 * asking; otherwise the user picks (only an accepted one) or cancels, which fails the attempt.
 */
export function chooseHandler(
  queue: PromptQueue,
  remembered: RememberedCertificate,
): (p: ReverseParams<'certs.choose'>) => Promise<ReverseResult<'certs.choose'>> {
  return async ({ candidates, remember }) => {
    const kept = remember ? remembered.get() : undefined;
    if (kept && candidates.some((c) => c.accepted && c.sha256 === kept)) return { cancelled: false, sha256: kept };
    const picked = await queue.ask({ kind: 'certificate', candidates: [...candidates], remember });
    if (!picked.accepted || picked.answer === undefined) return { cancelled: true };
    if (picked.remember) remembered.set(picked.answer);
    return { cancelled: false, sha256: picked.answer };
  };
}
