/**
 * {@link NetworkConfigurator} backed by the system vpnc-script, run exactly as openconnect runs
 * it (same reasons, same variables; see script-env.ts) but without a shell: the script is
 * exec'd by absolute path with an argument array and a clean environment, built from a
 * {@link NetworkConfig} (validated once, when it was built).
 */
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { ErrorCodes, TandemError } from '@tandem/common';
import type { ConfiguratorContext, NetworkConfigurator, StepResult } from './configurator.js';
import { validateInterfaceName, type NetworkConfig } from './network-config.js';
import { buildScriptEnv, type ScriptReason } from './script-env.js';

/** Where distributions install vpnc-script (Debian/Ubuntu first). */
export const VPNC_SCRIPT_CANDIDATES = [
  '/usr/share/vpnc-scripts/vpnc-script',
  '/etc/vpnc/vpnc-script',
  '/usr/libexec/vpnc-scripts/vpnc-script',
  '/etc/vpnc/default.script',
];

/** Options for {@link VpncScriptConfigurator}. */
export interface VpncScriptOptions {
  /** Absolute path of the script; default: the first of {@link VPNC_SCRIPT_CANDIDATES} that exists. */
  script?: string;
  /** LOG_LEVEL passed to the script (0 error … 3 trace); default 1. */
  logLevel?: 0 | 1 | 2 | 3;
  /** Kill the script after this long; default 30 s. */
  timeoutMs?: number;
}

/** The installed vpnc-script, or null when none of the usual locations has one. */
export function findVpncScript(): string | null {
  for (const p of VPNC_SCRIPT_CANDIDATES) {
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * Refuses a script that a non-root user could have replaced: it must be an absolute path to a
 * regular file owned by root (or us) and not writable by group or others.
 */
function checkScript(path: string): void {
  if (!isAbsolute(path)) throw new TandemError(ErrorCodes.NETCONFIG, `vpnc-script path must be absolute: ${path}`);
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw new TandemError(ErrorCodes.NETCONFIG, `vpnc-script not found: ${path}`, { cause: err });
  }
  const me = typeof process.geteuid === 'function' ? process.geteuid() : 0;
  if (!st.isFile()) throw new TandemError(ErrorCodes.NETCONFIG, `vpnc-script is not a regular file: ${path}`);
  if (st.uid !== 0 && st.uid !== me)
    throw new TandemError(ErrorCodes.NETCONFIG, `vpnc-script ${path} is owned by uid ${st.uid}`);
  if ((st.mode & 0o022) !== 0)
    throw new TandemError(ErrorCodes.NETCONFIG, `vpnc-script ${path} is writable by group or others`);
}

/** Runs vpnc-script for each configuration step. */
export class VpncScriptConfigurator implements NetworkConfigurator {
  readonly kind = 'vpnc-script';
  /** Absolute path of the script that will be run. */
  readonly script: string;
  private readonly logLevel: 0 | 1 | 2 | 3;
  private readonly timeoutMs: number;

  constructor(options: VpncScriptOptions = {}) {
    const script = options.script ?? findVpncScript();
    if (!script)
      throw new TandemError(
        ErrorCodes.NETCONFIG,
        `no vpnc-script found (looked in ${VPNC_SCRIPT_CANDIDATES.join(', ')})`,
      );
    this.script = script;
    this.logLevel = options.logLevel ?? 1;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** The exact environment a step would get; a bad owner pid or TUNDEV is refused here. */
  environment(reason: ScriptReason, config: NetworkConfig, ctx: ConfiguratorContext): Record<string, string> {
    if (!Number.isInteger(ctx.ownerPid) || ctx.ownerPid <= 0)
      throw new TandemError(ErrorCodes.NETCONFIG, `bad owner pid ${ctx.ownerPid}`);
    const tunDevice = ctx.tunDevice === undefined ? undefined : validateInterfaceName(ctx.tunDevice, 'TUNDEV');
    if (reason !== 'pre-init' && !tunDevice)
      throw new TandemError(ErrorCodes.NETCONFIG, `${reason} needs the tunnel device name`);
    return buildScriptEnv(config, {
      reason,
      ownerPid: ctx.ownerPid,
      logLevel: this.logLevel,
      ...(tunDevice ? { tunDevice } : {}),
    });
  }

  /** Runs the script once; throws E_NETCONFIG on a refused context, non-zero exit or timeout. */
  async run(reason: ScriptReason, config: NetworkConfig, ctx: ConfiguratorContext): Promise<StepResult> {
    const env = this.environment(reason, config, ctx);
    checkScript(this.script);
    const started = performance.now();
    return new Promise((resolve, reject) => {
      execFile(
        this.script,
        [],
        { env, timeout: this.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 20, cwd: '/' },
        (err, stdout, stderr) => {
          const ms = performance.now() - started;
          const output = `${String(stdout)}${String(stderr)}`;
          if (err) {
            reject(
              new TandemError(ErrorCodes.NETCONFIG, `vpnc-script ${reason} failed: ${err.message.split('\n')[0]}`, {
                cause: err,
                details: { reason, output: output.slice(-2000) },
              }),
            );
            return;
          }
          resolve({ reason, ms, output });
        },
      );
    });
  }

  /** Runs the `pre-init` step. */
  preInit(config: NetworkConfig, ctx: ConfiguratorContext): Promise<StepResult> {
    return this.run('pre-init', config, ctx);
  }

  /** Runs the `connect` step. */
  connect(config: NetworkConfig, ctx: ConfiguratorContext): Promise<StepResult> {
    return this.run('connect', config, ctx);
  }

  /** Runs the `disconnect` step. */
  disconnect(config: NetworkConfig, ctx: ConfiguratorContext): Promise<StepResult> {
    return this.run('disconnect', config, ctx);
  }

  /** Runs the `attempt-reconnect` step. */
  attemptReconnect(config: NetworkConfig, ctx: ConfiguratorContext): Promise<StepResult> {
    return this.run('attempt-reconnect', config, ctx);
  }

  /** Runs the `reconnect` step. */
  reconnect(config: NetworkConfig, ctx: ConfiguratorContext): Promise<StepResult> {
    return this.run('reconnect', config, ctx);
  }
}
