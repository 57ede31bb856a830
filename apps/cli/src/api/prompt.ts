/**
 * The answer to the agent's `prompt` reverse request (server certificate trust, banner, PIN,
 * group choice): asked on the terminal when there is one, otherwise answered `cancelled` so the
 * agent fails the attempt instead of waiting for a user who is not there. Secrets typed here are
 * registered with the redactor so no later error text can echo them.
 */
import { redactor } from '@tandem/common';
import type { ReverseParams, ReverseResult } from '@tandem/contract';
import { ask, printable } from './terminal.js';

type PromptParams = ReverseParams<'prompt'>;
type PromptResult = ReverseResult<'prompt'>;

const CANCELLED: PromptResult = { cancelled: true };

function header(p: PromptParams): string {
  return `\n${printable(p.title)}\n${printable(p.message)}\n`;
}

/** Answers one `prompt` request from the agent on the terminal. */
export async function answerPrompt(p: PromptParams): Promise<PromptResult> {
  switch (p.kind) {
    case 'confirm': {
      const line = await ask(`${header(p)}Continue? [y/N] `);
      return line !== null && /^y(es)?$/i.test(line.trim()) ? { cancelled: false, answer: 'yes' } : CANCELLED;
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
