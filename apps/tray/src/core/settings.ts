/**
 * The tray's own small settings (`$XDG_CONFIG_HOME/tandem/tray.json`): the last used host and
 * the remembered certificate thumbprint. Written atomically; a file that is corrupt, too large
 * or of another shape is ignored (the defaults apply and the next change replaces it) — a
 * broken preference must never keep the tray from starting.
 */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ErrorCodes, nullLogger, type Logger } from '@tandem/common';
import { readPrivateFile, writeFileAtomic } from '@tandem/common/safe-fs';
import { boolean, type Infer, object, optional, Sha256Hex, Text, validate } from '@tandem/contract';

/** What the tray remembers. */
export const TraySettings = object({
  lastHost: optional(Text),
  /** The certificate the user chose to keep using (where the profile allows remembering). */
  certificate: optional(Sha256Hex),
  /** Start at login (default true). */
  autostart: optional(boolean()),
});
/** See {@link TraySettings}. */
export type TraySettings = Infer<typeof TraySettings>;

const MAX_BYTES = 64 * 1024;

/** `$XDG_CONFIG_HOME/tandem/tray.json`, with `~/.config` when the variable is unset. */
export function settingsPathFrom(env: NodeJS.ProcessEnv): string {
  const base = env['XDG_CONFIG_HOME'] || join(env['HOME'] || homedir(), '.config');
  return join(base, 'tandem', 'tray.json');
}

/** The settings in memory, saved on every change. */
export class SettingsStore {
  private value: TraySettings;

  constructor(
    readonly path: string,
    private readonly logger: Logger = nullLogger,
  ) {
    this.value = this.load();
  }

  /** The current settings (a copy). */
  get(): TraySettings {
    return { ...this.value };
  }

  /** Changes some settings and saves them; a save that fails is logged, the change kept in memory. */
  update(patch: Partial<TraySettings>): void {
    const next: TraySettings = { ...this.value };
    for (const [k, v] of Object.entries(patch) as Array<[keyof TraySettings, unknown]>) {
      if (v === undefined) delete next[k];
      else (next as Record<string, unknown>)[k] = v;
    }
    this.value = next;
    try {
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      writeFileAtomic(this.path, `${JSON.stringify(this.value, null, 2)}\n`, 0o600);
    } catch (err) {
      this.logger.warn('cannot save the tray settings', { path: this.path, error: (err as Error).message });
    }
  }

  private load(): TraySettings {
    try {
      const data = readPrivateFile(this.path, ErrorCodes.STATE_FILE, { maxBytes: MAX_BYTES });
      if (data === null) return {};
      // Keys of a newer tray are tolerated and dropped on the next save.
      const checked = validate(TraySettings, JSON.parse(data.toString('utf8')), { allowUnknownKeys: true });
      if (checked.ok) {
        const { lastHost, certificate, autostart } = checked.value;
        return {
          ...(lastHost !== undefined ? { lastHost } : {}),
          ...(certificate !== undefined ? { certificate } : {}),
          ...(autostart !== undefined ? { autostart } : {}),
        };
      }
      this.logger.warn('ignoring tray settings of an unknown shape', { path: this.path, issue: checked.issue });
    } catch (err) {
      this.logger.warn('ignoring unreadable tray settings', { path: this.path, error: (err as Error).message });
    }
    return {};
  }
}
