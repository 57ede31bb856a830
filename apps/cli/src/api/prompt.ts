/**
 * The answers to the agent's questions: the `prompt` reverse request (server certificate trust,
 * login banner, PIN, group choice) and `certs.choose` (which user certificate). Asked on the
 * terminal when there is one; otherwise a prompt is answered `cancelled`, so the agent fails the
 * attempt instead of waiting for a user who is not there, and a certificate choice is left to
 * the agent. Text from the gateway and the agent is shown as plain text (control characters
 * stripped). Secrets typed here are registered with the redactor so no later error text can
 * echo them.
 */
import { redactor } from '@tandem/common';
import type { CertificateChoice, ReverseParams, ReverseResult } from '@tandem/contract';
import type { ReverseHandlers } from '@tandem/ipc/client';
import { ask, bannerQuestion, isYes, printable } from './terminal.js';

type PromptParams = ReverseParams<'prompt'>;
type PromptResult = ReverseResult<'prompt'>;
type ChooseResult = ReverseResult<'certs.choose'>;

const CANCELLED: PromptResult = { cancelled: true };

/** How `tandem connect` answers without asking (its options). */
export interface AnswerOptions {
  /** `--accept-banner`: the login banner is accepted without a question. */
  acceptBanner?: boolean;
  /** `--cert SHA256`: the user certificate to use when the agent asks which one. */
  cert?: string;
  /** `--json`: nothing is asked on the terminal (a banner is declined without `--accept-banner`). */
  json?: boolean;
  /** Where the command says what it answered without asking (stderr; nothing in JSON mode). */
  notify?: (line: string) => void;
}

function header(p: PromptParams): string {
  return `\n${printable(p.title)}\n${printable(p.message)}\n`;
}

/** Answers one `prompt` request from the agent on the terminal. */
export async function answerPrompt(p: PromptParams, opts: AnswerOptions = {}): Promise<PromptResult> {
  switch (p.kind) {
    case 'banner': {
      if (opts.acceptBanner) {
        opts.notify?.('accepting the login banner (--accept-banner)');
        return { cancelled: false };
      }
      if (opts.json) return CANCELLED;
      const line = await ask(bannerQuestion(p.title, p.message));
      if (line === null) opts.notify?.('declining the login banner: no terminal to show it on (see --accept-banner)');
      return isYes(line) ? { cancelled: false } : CANCELLED;
    }
    case 'confirm': {
      const line = await ask(`${header(p)}Continue? [y/N] `);
      return isYes(line) ? { cancelled: false, answer: 'yes' } : CANCELLED;
    }
    case 'text': {
      const line = await ask(`${header(p)}> `);
      return line === null ? CANCELLED : { cancelled: false, answer: line };
    }
    case 'secret': {
      const line = await ask(`${header(p)}(input hidden) `, true);
      if (line === null) return CANCELLED;
      redactor.addSecret(line);
      return { cancelled: false, answer: line };
    }
    case 'choice': {
      const choices = p.choices ?? [];
      if (choices.length === 0) return CANCELLED;
      const list = choices.map((c, i) => `  ${i + 1}) ${printable(c)}`).join('\n');
      const line = await ask(`${header(p)}${list}\nChoice [1-${choices.length}]: `);
      if (line === null) return CANCELLED;
      const typed = line.trim();
      const n = Number(typed);
      const picked =
        Number.isInteger(n) && n >= 1 && n <= choices.length ? choices[n - 1] : choices.find((c) => c === typed);
      return picked === undefined ? CANCELLED : { cancelled: false, answer: picked };
    }
  }
}

/**
 * The certificate list as the terminal shows it: accepted certificates numbered (the numbers
 * the user may type), refused ones below with the agent's reasons. `selectable[i]` is the
 * thumbprint of number i + 1.
 */
export function certificateMenu(candidates: readonly CertificateChoice[]): { text: string; selectable: string[] } {
  const selectable: string[] = [];
  const lines = ['', 'Choose the certificate for this connection:'];
  const describe = (c: CertificateChoice): string =>
    `${printable(c.subject)}\n       issued by ${printable(c.issuer)}, expires ${c.notAfter.slice(0, 10)}, ${printable(c.store)}, SHA-256 ${c.sha256.slice(0, 16)}…`;
  for (const c of candidates.filter((x) => x.accepted)) {
    selectable.push(c.sha256);
    lines.push(`  ${String(selectable.length).padStart(2)}) ${describe(c)}`);
  }
  const refused = candidates.filter((x) => !x.accepted);
  if (refused.length > 0) lines.push('Not usable:');
  for (const c of refused)
    lines.push(`   -  ${describe(c)}\n       refused: ${c.reasons.map(printable).join('; ') || 'no reason given'}`);
  return { text: `${lines.join('\n')}\n`, selectable };
}

/** Normalises a `--cert` value (hex with or without colons, any case) to the contract's form. */
export function certThumbprint(value: string): string | null {
  const hex = value.replace(/:/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : null;
}

/** Answers `certs.choose`: `--cert`, else a numbered list on the terminal, else the agent's automatic choice. */
export async function answerChoose(p: ReverseParams<'certs.choose'>, opts: AnswerOptions = {}): Promise<ChooseResult> {
  if (opts.cert) {
    const accepted = p.candidates.some((c) => c.accepted && c.sha256 === opts.cert);
    opts.notify?.(
      accepted
        ? `using certificate ${opts.cert.slice(0, 16)}… (--cert)`
        : `--cert ${opts.cert.slice(0, 16)}… is not among the accepted certificates`,
    );
    return { cancelled: false, sha256: opts.cert };
  }
  const menu = certificateMenu(p.candidates);
  if (opts.json || menu.selectable.length === 0) return { cancelled: false };
  const range = menu.selectable.length === 1 ? '1' : `1-${menu.selectable.length}`;
  let question = `${menu.text}Certificate [${range}, q to cancel]: `;
  for (let tries = 0; tries < 3; tries++) {
    const line = await ask(question);
    // No terminal: the agent's automatic choice, as if this client did not choose at all.
    if (line === null) return { cancelled: false };
    const typed = line.trim();
    if (/^q(uit)?$/i.test(typed)) return { cancelled: true };
    const n = Number(typed);
    if (Number.isInteger(n) && n >= 1 && n <= menu.selectable.length)
      return { cancelled: false, sha256: menu.selectable[n - 1]! };
    question = `Type a number from ${range}, or q: `;
  }
  return { cancelled: true };
}

/** The `prompt` and `certs.choose` handlers of `tandem connect`. */
export function questionHandlers(opts: AnswerOptions): Required<Pick<ReverseHandlers, 'prompt' | 'certs.choose'>> {
  return {
    prompt: (p) => answerPrompt(p, opts),
    'certs.choose': (p) => answerChoose(p, opts),
  };
}
