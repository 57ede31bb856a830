/**
 * tandem-tray(1), rendered by the same roff writer as the other pages (apps/cli's
 * local/reference/roff.ts, compiled). The tray has no command table: its two options are read
 * in apps/tray/src/main/app.ts, its paths in core/settings.ts, core/downloads.ts and
 * main/autostart.ts — keep this page in step with them.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The page's roff source.
 * @param {string} root the checkout (built)
 * @param {string} version
 * @returns {Promise<string>}
 */
export async function trayManPage(root, version) {
  const { renderManPage } = await import(pathToFileURL(join(root, 'apps/cli/dist/local/reference/roff.js')).href);
  const epoch = Number(process.env['SOURCE_DATE_EPOCH']);
  const flag = (name, description) => ({ name, repeatable: false, description });
  return renderManPage({
    name: 'tandem-tray',
    section: '1',
    date: (Number.isFinite(epoch) && epoch > 0 ? new Date(epoch * 1000) : new Date()).toISOString().slice(0, 10),
    source: `Tandem ${version}`,
    purpose: "Tandem VPN tray: tunnel state, connect and the user's certificates",
    synopsis: ['tandem-tray [--hidden] [--allow-non-root-agent]'],
    description: [
      "The desktop side of Tandem: a tray icon and a window over the tandemd agent. It shows the tunnels, connects and disconnects the user tunnel, answers the agent's questions (PIN, login banner, certificate choice), signs with the user's certificates while it runs, and creates diagnostic bundles into the downloads directory.",
      "One instance runs per session: starting it again shows the running one's window. Closing the window hides it; Quit in the tray menu ends the tray.",
      'The package starts it at login, hidden, through an XDG autostart entry. With "autostart": false in its settings file the tray writes a user entry of the same name that hides the system one.',
    ],
    options: [
      flag('hidden', 'Start without showing the window (what the autostart entry does).'),
      flag(
        'allow-non-root-agent',
        'Talk to an agent whose socket is not owned by root (a development agent); otherwise anyone could pose as the agent.',
      ),
    ],
    exitStatus: [['0', 'The tray was quit, or another instance was already running.']],
    environment: [
      ['TANDEM_SOCKET', "The agent's socket (default /run/tandem/tandemd.sock)."],
      ['XDG_CONFIG_HOME', 'Where the settings and the autostart entry are kept (default ~/.config).'],
      [
        'XDG_DOWNLOAD_DIR',
        'Where diagnostic bundles are written (default: the user-dirs.dirs entry, else ~/Downloads).',
      ],
    ],
    files: [
      ['~/.config/tandem/tray.json', 'Last used host, remembered certificate, "autostart" (mode 0600).'],
      ['~/.config/autostart/tandem-tray.desktop', "The user's autostart entry, written by the tray."],
      ['/etc/xdg/autostart/tandem-tray.desktop', "The package's autostart entry."],
      ['/usr/lib/tandem-tray', 'The application and the Electron runtime it runs on.'],
    ],
    seeAlso: ['tandem(1)', 'tandemd(8)'],
  });
}
