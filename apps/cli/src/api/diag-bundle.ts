/**
 * `tandem diag bundle`: writes the diagnostic bundle as the user, in the current directory (or
 * `--out`), with the agent's part (its state, logs for administrators, network and system facts)
 * and this process's part: the user's certificate candidates (listed by this process, judged by
 * the agent's selection) and what this command saw. Prints the path and the bundle id; the
 * redaction map goes beside the archive, readable by the user only.
 */
import { hostname, userInfo } from 'node:os';
import { buildBundle, type BundleProgress } from '@tandem/diagnostics';
import { ExitCode, UsageError } from '../io.js';
import { AGENT_USAGE, openAgent } from './agent.js';
import { apiCommand } from './define.js';
import { printJson } from './errors.js';
import { SIGNER_OPTIONS, SIGNER_USAGE, userSigner } from './user-signer.js';
import { cliVersion } from '../version.js';

/** Usage text of `tandem diag bundle`. */
export const USAGE = `Usage: tandem diag bundle [--out FILE] [--since DURATION] [--no-redact] [--record] [--json]

Write a diagnostic bundle (a ZIP support can read with "tandem diag inspect") to the current
directory as tandem-diag-<host token>-<UTC time>.zip, and print its path and id (DIAG-XXXX-XXXX).
Names, addresses, certificate subjects and serials are replaced by tokens; private keys,
passphrases, PINs and cookies are never included. The tokens' meanings are written next to the
archive (<name>.redaction-map.json, readable only by you): keep it, do not send it.

Options:
  --out FILE          Write the archive here instead
  --since DURATION    How far back logs go: 30m, 12h, 3d (default 72h)
  --no-redact         Keep names and addresses (administrators only; secrets are still removed)
  --record            Turn on the agent's verbose logging, wait for Enter while you reproduce
                      the problem, then write the bundle
  --json              One JSON object: {path, bundleId, size, redactionMap, audience}
${SIGNER_USAGE}
${AGENT_USAGE}`;

/** `30m`, `12h`, `3d` in seconds (60 s to 30 days). */
export function parseSince(text: string): number {
  const m = /^(\d{1,5})([smhd])$/.exec(text.trim());
  const unit = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
  const seconds = m ? Number(m[1]) * unit[m[2] as keyof typeof unit] : NaN;
  if (!(seconds >= 60 && seconds <= 30 * 86_400))
    throw new UsageError(`--since needs a duration between 1m and 30d such as 30m, 12h or 3d, not "${text}"`);
  return seconds;
}

/** Resolves at the next newline (or end) on standard input. */
function waitForEnter(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.stdin.off('data', onData);
      process.stdin.off('end', done);
      process.stdin.pause();
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      if (chunk.includes(0x0a)) done();
    };
    process.stdin.on('data', onData);
    process.stdin.on('end', done);
    process.stdin.resume();
  });
}

const PHASE_TEXT: Record<BundleProgress['phase'], string> = {
  collecting: 'collecting the agent’s part',
  receiving: 'receiving',
  writing: 'adding this side’s files and writing the archive',
  done: 'done',
};

/** The command table entry. */
export const diagBundleCommand = apiCommand({
  name: 'diag bundle',
  summary: 'Write a diagnostic bundle (redacted ZIP) to attach to a support ticket',
  usage: USAGE,
  options: {
    ...SIGNER_OPTIONS,
    out: { type: 'string' },
    since: { type: 'string' },
    'no-redact': { type: 'boolean' },
    record: { type: 'boolean' },
  },
  body: async ({ values, io, json }) => {
    const since = typeof values['since'] === 'string' ? parseSince(values['since']) : undefined;
    const out = typeof values['out'] === 'string' ? values['out'] : undefined;
    const redact = values['no-redact'] !== true;
    const notices: string[] = [];
    const notify = (line: string): void => {
      notices.push(line);
      if (!json) io.err(`${line}\n`);
    };
    const signer = userSigner(values, notify);
    const client = await openAgent(values, signer.handlers);
    try {
      if (values['record'] === true) {
        const on = await client.call('diagnostics.record', { on: true });
        io.err(
          `Verbose logging is on until ${on.until ?? 'further notice'}. Reproduce the problem, then press Enter.\n`,
        );
        try {
          await waitForEnter();
        } finally {
          await client.call('diagnostics.record', { on: false });
        }
      }
      const started = performance.now();
      const built = await buildBundle({
        link: client,
        toolVersion: cliVersion(),
        redact,
        ...(out ? { out } : {}),
        ...(since !== undefined ? { sinceSeconds: since } : {}),
        callerSummary: [
          'This side (the tandem command, as the user):',
          `  tandem ${cliVersion()}, uid ${process.getuid?.() ?? 'unknown'}, user ${userInfo().username}, host ${hostname()}`,
          `  user store notices: ${notices.length > 0 ? notices.length : 'none'}`,
        ].join('\n'),
        callerFiles: async () => [
          {
            path: 'client/cli.txt',
            collector: 'cli',
            data: [
              `tandem ${cliVersion()} on Node ${process.version}`,
              `uid ${process.getuid?.() ?? 'unknown'} user ${userInfo().username}`,
              `TANDEM_SOCKET ${process.env['TANDEM_SOCKET'] ? 'set' : 'not set'}`,
              '',
              "Notices from the user's certificate store during this run:",
              ...(notices.length > 0 ? notices.map((n) => `  ${n}`) : ['  none']),
              '',
            ].join('\n'),
          },
        ],
        onProgress: (p) => {
          if (json || p.phase === 'done') return;
          io.err(
            p.phase === 'receiving' ? `\r${PHASE_TEXT[p.phase]} ${p.done}/${p.total}` : `\r${PHASE_TEXT[p.phase]}…\n`,
          );
        },
      });
      const ms = Math.round(performance.now() - started);
      if (json)
        printJson(io, {
          path: built.path,
          bundleId: built.bundleId,
          size: built.size,
          ms,
          redactionMap: built.mapPath,
          audience: built.audience,
        });
      else {
        io.out(`${built.path}\n${built.bundleId}\n`);
        io.err(
          `Bundle ${built.bundleId}: ${built.size} bytes in ${ms} ms${built.audience === 'user' ? " (without the administrators' part: logs, machine store, processes)" : ''}\n`,
        );
        if (built.mapPath) io.err(`Redaction map (keep it, do not send it): ${built.mapPath}\n`);
      }
      return ExitCode.OK;
    } finally {
      client.close();
      await signer.close();
    }
  },
});
