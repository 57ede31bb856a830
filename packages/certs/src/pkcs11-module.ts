/**
 * PKCS#11 modules are process-wide: `dlopen` gives every loader of one library the same copy,
 * and `C_Initialize` may run once per process. This registry loads each module once and
 * remembers who initialised it and how, so two sources never fight over one module:
 * - a plain module (a smart card, SoftHSM) is initialised once and stays initialised;
 * - a module initialised with NSS library parameters (softoken: which database it opens) is
 *   re-initialised with other parameters only when no source still holds sessions on it, and
 *   is never used when something else in the process (a browser engine's NSS) initialised it
 *   first — its database is unknown to us and finalising it would pull it from under its owner.
 */
import type pkcs11js from 'pkcs11js';
import { ErrorCodes, TandemError } from '@tandem/common';
import { pkcs11Lib } from './lazy-deps.js';

interface LoadedModule {
  p11: pkcs11js.PKCS11;
  /** The NSS library parameters it was initialised with, or null (plain C_Initialize). */
  initArgs: string | null;
  /** Sources holding sessions on it. */
  holders: Set<object>;
}

const modules = new Map<string, LoadedModule>();

function storeError(path: string, message: string, cause?: unknown): TandemError {
  return new TandemError(ErrorCodes.CERT_STORE, `PKCS#11 module ${path}: ${message}`, cause ? { cause } : {});
}

function initialise(p11: pkcs11js.PKCS11, path: string, initArgs: string | null): void {
  try {
    if (initArgs === null) p11.C_Initialize();
    else p11.C_Initialize({ libraryParameters: initArgs });
  } catch (err) {
    const message = (err as Error).message;
    if (!/ALREADY_INITIALIZED/.test(message)) throw storeError(path, `cannot initialise: ${message}`, err);
    // A plain module initialised elsewhere in the process is usable as it is; one that needs
    // our parameters is not, since we cannot know which database the other user opened.
    if (initArgs !== null)
      throw storeError(path, 'already initialised by another user of it in this process; not read here', err);
  }
}

/**
 * The module at `path`, initialised (with `initArgs` when given) and held by `holder` until
 * {@link releaseModule}. Throws E_CERT_STORE when it cannot be loaded, or when it is held with
 * other parameters.
 */
export function acquireModule(path: string, initArgs: string | null, holder: object): pkcs11js.PKCS11 {
  const loaded = modules.get(path);
  if (loaded) {
    if (loaded.initArgs !== initArgs) {
      if ([...loaded.holders].some((h) => h !== holder))
        throw storeError(path, 'in use with other parameters (another database) in this process');
      try {
        loaded.p11.C_Finalize();
      } catch {
        /* finalised already: initialise below */
      }
      try {
        initialise(loaded.p11, path, initArgs);
      } catch (err) {
        // Finalised and not initialised again: the next caller starts from a fresh load.
        modules.delete(path);
        throw err;
      }
      loaded.initArgs = initArgs;
    }
    loaded.holders.add(holder);
    return loaded.p11;
  }
  const p11 = new (pkcs11Lib().PKCS11)();
  try {
    p11.load(path);
  } catch (err) {
    throw storeError(path, `cannot load: ${(err as Error).message}`, err);
  }
  initialise(p11, path, initArgs);
  modules.set(path, { p11, initArgs, holders: new Set([holder]) });
  return p11;
}

/** The module at `path` if this process loaded it (for closing sessions), else null. */
export function loadedModule(path: string): pkcs11js.PKCS11 | null {
  return modules.get(path)?.p11 ?? null;
}

/** `holder` no longer holds sessions on the module (it stays initialised until needed otherwise). */
export function releaseModule(path: string, holder: object): void {
  modules.get(path)?.holders.delete(holder);
}
