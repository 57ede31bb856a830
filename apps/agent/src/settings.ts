/**
 * Settings an administrator changes while the agent runs and that must outlive it: today the
 * machine tunnel switch (`tandem machine-tunnel enable|disable`). One JSON file,
 * `<settings-dir>/settings.json`, in a root-owned 0700 directory, replaced atomically on every
 * change and read once at start, before the engine decides whether the machine tunnel runs.
 *
 * The file is trusted only if it is a regular root-owned file, not writable by others, at most
 * 4 KiB, valid JSON of the expected shape. Anything else is logged as E_STATE_FILE and
 * ignored, and the agent follows the profiles: the machine tunnel runs whenever a management
 * tunnel profile is installed. An untrusted file is left in place for the administrator to
 * look at; the next enable/disable replaces it (rename replaces a planted symlink itself).
 */
import { join } from 'node:path';
import { ErrorCodes, isTandemError, TandemError, type Logger } from '@tandem/common';
import { ensurePrivateDir, readPrivateFile, writeFileAtomic } from '@tandem/common/safe-fs';
import { boolean, Count, literal, object, optional, Timestamp, validate, type Infer } from '@tandem/contract';

/** The file's name inside the settings directory. */
export const SETTINGS_FILE = 'settings.json';
/** Larger files are refused unread: the real one is under 200 bytes. */
export const SETTINGS_MAX_BYTES = 4096;

/** The switch as an administrator last set it. */
const MachineTunnelSetting = object({ enabled: boolean(), uid: Count, at: Timestamp });
/** See {@link MachineTunnelSetting}: who (uid) set it to what, and when (ISO-8601). */
export type MachineTunnelSetting = Infer<typeof MachineTunnelSetting>;

const SettingsFile = object({ version: literal(1), machineTunnel: optional(MachineTunnelSetting) });
type SettingsFile = Infer<typeof SettingsFile>;

function stateError(err: unknown, message: string): TandemError {
  const reason =
    isTandemError(err) && typeof err.details['reason'] === 'string'
      ? err.details['reason']
      : err instanceof Error
        ? err.message
        : String(err);
  return new TandemError(ErrorCodes.STATE_FILE, `${message}: ${reason}`, { cause: err, details: { reason } });
}

/** Parses and checks the file's bytes; throws E_STATE_FILE. */
function parse(path: string, data: Buffer): SettingsFile {
  let json: unknown;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw stateError(err, `${path} is not valid JSON`);
  }
  const checked = validate(SettingsFile, json);
  if (!checked.ok)
    throw new TandemError(ErrorCodes.STATE_FILE, `${path} has an unexpected shape: ${checked.issue}`, {
      details: { reason: checked.issue },
    });
  return checked.value;
}

/** The saved settings: read at start, written through on every change. */
export class SettingsStore {
  private constructor(
    private readonly dir: string,
    private readonly log: Logger,
    private data: SettingsFile,
  ) {}

  /** Reads `<dir>/settings.json`, creating the directory if needed; never throws (see the module doc). */
  static open(dir: string, log: Logger): SettingsStore {
    const path = join(dir, SETTINGS_FILE);
    let data: SettingsFile = { version: 1 };
    try {
      ensurePrivateDir(dir, ErrorCodes.STATE_FILE);
      const bytes = readPrivateFile(path, ErrorCodes.STATE_FILE, { maxBytes: SETTINGS_MAX_BYTES });
      if (bytes !== null) data = parse(path, bytes);
    } catch (err) {
      const e = isTandemError(err, ErrorCodes.STATE_FILE) ? err : stateError(err, `cannot read ${path}`);
      log.error('saved settings ignored; the machine tunnel follows the profiles', {
        code: e.code,
        file: path,
        error: e.message,
      });
    }
    return new SettingsStore(dir, log, data);
  }

  /** The machine tunnel switch as last set by an administrator, or null when never set (or unreadable). */
  get machineTunnel(): MachineTunnelSetting | null {
    return this.data.machineTunnel ?? null;
  }

  /**
   * Records and saves the switch. The new value is in force (and reported) even when saving
   * fails; the E_STATE_FILE thrown then tells the administrator it will not survive a restart.
   */
  saveMachineTunnel(enabled: boolean, uid: number, now: Date = new Date()): MachineTunnelSetting {
    const setting = { enabled, uid, at: now.toISOString() };
    this.data = { ...this.data, machineTunnel: setting };
    const path = join(this.dir, SETTINGS_FILE);
    try {
      ensurePrivateDir(this.dir, ErrorCodes.STATE_FILE);
      writeFileAtomic(path, `${JSON.stringify(this.data, null, 1)}\n`, 0o600);
    } catch (err) {
      const e = stateError(
        err,
        `the machine tunnel is ${enabled ? 'enabled' : 'disabled'} until the agent restarts, but saving ${path} failed`,
      );
      this.log.error('machine tunnel setting not saved', { code: e.code, file: path, error: e.message });
      throw e;
    }
    this.log.info('machine tunnel setting saved', { enabled, uid, file: path });
    return setting;
  }
}
