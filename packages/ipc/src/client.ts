/**
 * `@tandem/ipc/client` — the user half: typed calls to the agent, events, and answers to the
 * agent's reverse requests. Imports nothing from the server half (checked by dependency-cruiser).
 */
export {
  connectIpc,
  type ConnectOptions,
  type IpcClient,
  type ReverseHandler,
  type ReverseHandlers,
} from './client/client.js';
export { verifySocketOwner } from './client/ownership.js';
