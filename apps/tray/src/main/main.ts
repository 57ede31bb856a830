/**
 * The tray's Electron entry point (`dist/main/main.js`): everything happens in {@link runTray};
 * this file only finds the app directory, passes the command line and, on Windows, installs the
 * ACL policy the private-file checks need (Linux and macOS check owner and mode).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectPrivatePathPolicy, usePrivatePathPolicy } from '@tandem/common/safe-fs';
import { runTray } from './app.js';

const start = (): void =>
  void runTray({
    argv: process.argv,
    env: process.env,
    appDir: join(dirname(fileURLToPath(import.meta.url)), '..', '..'),
  });

if (process.platform === 'win32')
  selectPrivatePathPolicy().then(
    (policy) => {
      usePrivatePathPolicy(policy);
      start();
    },
    (err: unknown) => {
      process.stderr.write(`tandem-tray: cannot check private files: ${String(err)}\n`);
      process.exit(1);
    },
  );
else start();
