/**
 * The tray's Electron entry point (`dist/main/main.js`): everything happens in {@link runTray};
 * this file only finds the app directory and passes the command line.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTray } from './app.js';

runTray({ argv: process.argv, env: process.env, appDir: join(dirname(fileURLToPath(import.meta.url)), '..', '..') });
