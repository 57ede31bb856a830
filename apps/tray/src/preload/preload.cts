/**
 * The preload: the window's only way out, exactly `window.tandem = { call, onView }`. CommonJS,
 * because a sandboxed preload cannot be an ES module, and it may require nothing but `electron`
 * — so the channel names are written here and checked against the main side by a test.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { TrayApi, TrayView } from '../core/bridge.js';

const api: TrayApi = {
  // Every answer is a BridgeReply built by the main side; the renderer gets it as it is.
  call: (method, params) => ipcRenderer.invoke('tandem:call', method, params),
  onView(listener) {
    const handler = (_event: IpcRendererEvent, view: TrayView): void => listener(view);
    ipcRenderer.on('tandem:view', handler);
    return () => {
      ipcRenderer.removeListener('tandem:view', handler);
    };
  },
};

contextBridge.exposeInMainWorld('tandem', api);
