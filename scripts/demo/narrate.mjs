/**
 * Terminal narration for the demo: section headers, indented command output and timings.
 * Colours only when stdout is a terminal, so a captured run (tests, CI logs) is plain text
 * that assertions can match without stripping escape codes.
 */
const tty = process.stdout.isTTY === true && !process.env.NO_COLOR;
const paint = (code) => (text) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
const bold = paint('1');
const dim = paint('2');
const green = paint('32');
const red = paint('31');
const yellow = paint('33');
const cyan = paint('36');

const started = performance.now();

/** Milliseconds since the demo started (monotonic clock). */
export function elapsed() {
  return Math.round(performance.now() - started);
}

function clock() {
  return dim(`[${(elapsed() / 1000).toFixed(1).padStart(5)} s]`);
}

function write(text) {
  process.stdout.write(text);
}

/** A section header: `=== title`, the form every step of the story starts with. */
export function section(title) {
  write(`\n${bold(cyan(`=== ${title}`))}\n`);
}

/** One narrated line with the time since start. */
export function say(text) {
  write(`${clock()} ${text}\n`);
}

/** A success line (`✔ …`). */
export function ok(text) {
  write(`${clock()} ${green('✔')} ${text}\n`);
}

/** A warning or skipped step (`! …`). */
export function warn(text) {
  write(`${clock()} ${yellow('!')} ${text}\n`);
}

/** A failure line (`✘ …`), also used for the final reason of a failed run. */
export function fail(text) {
  write(`${clock()} ${red('✘')} ${text}\n`);
}

/** The command about to run, shell-quoted only for display (it is never run through a shell). */
export function command(argv, who = '#') {
  const quoted = argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`));
  write(`${dim(who)} ${bold(quoted.join(' '))}\n`);
}

/** Output of a command, indented so it reads as belonging to the command above. */
export function output(text) {
  const body = String(text ?? '').replace(/\s+$/, '');
  if (body)
    write(
      `${body
        .split('\n')
        .map((l) => `    ${l}`)
        .join('\n')}\n`,
    );
}

/**
 * Runs `work` and returns its result together with how long it took, so every step can
 * report its own timing without sprinkling clocks through the story.
 * @template T
 * @param {() => Promise<T>} work
 * @returns {Promise<{ value: T, ms: number }>}
 */
export async function timed(work) {
  const t0 = performance.now();
  const value = await work();
  return { value, ms: Math.round(performance.now() - t0) };
}
