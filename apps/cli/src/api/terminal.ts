/**
 * Questions on the user's terminal for the agent's `prompt` reverse request and for PINs and
 * passphrases of the user's own store: on stderr (stdout stays for results), secrets without
 * echo, and only when both stdin and stderr are terminals — a script never blocks on a prompt.
 */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

/** True when questions can be asked (stdin and stderr are terminals). */
export function interactive(): boolean {
  return process.stdin.isTTY === true && process.stderr.isTTY === true;
}

/**
 * Removes terminal control characters (escape sequences included) from text that came from
 * elsewhere — a gateway's banner reaches us through the agent and must not drive the terminal
 * nor make the text read differently from what it is. Tabs and newlines stay.
 */
export function printable(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex
      .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '')
      // eslint-disable-next-line no-control-regex
      .replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, '')
      // Bidirectional overrides and isolates reorder what follows them on screen.
      .replace(/[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '')
  );
}

/**
 * A login banner as the terminal shows it: plain text between rules, then Accept [y/N]. The
 * gateway wrote it, so it is stripped of control characters like any text from elsewhere.
 */
export function bannerQuestion(title: string, banner: string): string {
  const rule = '-'.repeat(40);
  const text = printable(banner).replace(/\t/g, ' ').trimEnd();
  return `\n${printable(title)}\n${rule}\n${text}\n${rule}\nAccept? [y/N] `;
}

/** True for a typed yes (`y`, `yes`, any case); no answer is no. */
export function isYes(line: string | null): boolean {
  return line !== null && /^y(es)?$/i.test(line.trim());
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * Asks one question and resolves with the typed line, or null without a terminal. Questions
 * are serialised, so two reverse requests never interleave on the screen. `hidden` turns echo off.
 */
export function ask(question: string, hidden = false): Promise<string | null> {
  const run = async (): Promise<string | null> => {
    if (!interactive()) return null;
    process.stderr.write(question);
    const output = hidden ? new Writable({ write: (_c, _e, cb) => cb() }) : process.stderr;
    const rl = createInterface({ input: process.stdin, output, terminal: true });
    try {
      return await new Promise<string>((resolve) => rl.question('', resolve));
    } finally {
      rl.close();
      if (hidden) process.stderr.write('\n');
    }
  };
  const next = queue.then(run, run);
  queue = next.catch(() => undefined);
  return next;
}
