/**
 * A stand-in for the `electron` module (no Electron binary exists here): it records what the
 * tray's glue asks of Electron — windows and their preferences, the tray icon and menu, the
 * session's handlers, ipcMain channels, notifications — so the tests can assert on them and
 * play the user's and the renderer's side.
 */
type Listener = (...args: unknown[]) => unknown;

class Emitter {
  readonly listeners = new Map<string, Listener[]>();
  on(event: string, listener: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }
  once(event: string, listener: Listener): this {
    return this.on(event, listener);
  }
  emit(event: string, ...args: unknown[]): void {
    for (const l of this.listeners.get(event) ?? []) l(...args);
  }
}

/** A fake event whose `preventDefault` is observable. */
export function fakeEvent(extra: Record<string, unknown> = {}): { defaultPrevented: boolean; preventDefault(): void } {
  const e = {
    ...extra,
    defaultPrevented: false,
    preventDefault() {
      e.defaultPrevented = true;
    },
  };
  return e;
}

/** Creates the fake module and its recorder; `reset` starts a test afresh. */
export function createFakeElectron() {
  const state = {
    lock: true,
    quits: 0,
    locale: 'de',
    windows: [] as FakeWindow[],
    trays: [] as FakeTray[],
    notifications: [] as Array<{ title: string; body: string }>,
    ipc: new Map<string, Listener>(),
    permissionRequest: null as Listener | null,
    permissionCheck: null as Listener | null,
    headers: null as Listener | null,
    loginItems: [] as unknown[],
  };

  class FakeContents extends Emitter {
    readonly sent: Array<[string, unknown]> = [];
    windowOpenHandler: Listener | null = null;
    send(channel: string, value: unknown): void {
      this.sent.push([channel, value]);
    }
    setWindowOpenHandler(handler: Listener): void {
      this.windowOpenHandler = handler;
    }
  }

  class FakeWindow extends Emitter {
    readonly webContents = new FakeContents();
    visible = false;
    loaded: string | null = null;
    constructor(readonly options: { webPreferences: Record<string, unknown> } & Record<string, unknown>) {
      super();
      state.windows.push(this);
      app.emit('web-contents-created', fakeEvent(), this.webContents);
    }
    show(): void {
      this.visible = true;
      this.emit('show');
    }
    hide(): void {
      this.visible = false;
      this.emit('hide');
    }
    focus(): void {}
    isDestroyed(): boolean {
      return false;
    }
    loadFile(file: string): Promise<void> {
      this.loaded = file;
      return Promise.resolve();
    }
  }

  class FakeTray extends Emitter {
    image: unknown = null;
    tooltip = '';
    menu: { template: Array<Record<string, unknown>> } | null = null;
    destroyed = false;
    constructor(image: unknown) {
      super();
      this.image = image;
      state.trays.push(this);
    }
    setImage(image: unknown): void {
      this.image = image;
    }
    setToolTip(text: string): void {
      this.tooltip = text;
    }
    setContextMenu(menu: { template: Array<Record<string, unknown>> }): void {
      this.menu = menu;
    }
    destroy(): void {
      this.destroyed = true;
    }
  }

  const app = Object.assign(new Emitter(), {
    requestSingleInstanceLock: () => state.lock,
    quit: () => void state.quits++,
    whenReady: () => Promise.resolve(),
    getLocale: () => state.locale,
    getVersion: () => '0.1.0-test',
    isPackaged: false,
    setLoginItemSettings: (s: unknown) => void state.loginItems.push(s),
  });

  const module = {
    app,
    BrowserWindow: FakeWindow,
    Tray: FakeTray,
    Menu: { buildFromTemplate: (template: Array<Record<string, unknown>>) => ({ template }) },
    nativeImage: { createFromPath: (path: string) => ({ path }) },
    Notification: class {
      static isSupported(): boolean {
        return true;
      }
      constructor(private readonly o: { title: string; body: string }) {}
      show(): void {
        state.notifications.push(this.o);
      }
    },
    ipcMain: { handle: (channel: string, fn: Listener) => void state.ipc.set(channel, fn) },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (h: Listener) => void (state.permissionRequest = h),
        setPermissionCheckHandler: (h: Listener) => void (state.permissionCheck = h),
        webRequest: { onHeadersReceived: (h: Listener) => void (state.headers = h) },
      },
    },
  };

  const reset = (): void => {
    app.listeners.clear();
    Object.assign(state, {
      lock: true,
      quits: 0,
      locale: 'de',
      windows: [],
      trays: [],
      notifications: [],
      ipc: new Map(),
      permissionRequest: null,
      permissionCheck: null,
      headers: null,
      loginItems: [],
    });
  };

  return { module, state, reset, app };
}
