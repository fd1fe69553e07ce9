// `ovis serve` as a library: the fetch handler and the runtime adapters.

export { currentRuntime, type Listening, type ListenOptions, listen, listenBun, listenDeno, listenNode } from './adapters.js';
export { HttpError } from './errors.js';
export {
  type ChatEngine,
  createServer,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_QUEUE,
  type Handler,
  OvisServer,
  type ServerEvent,
  type ServerOptions,
} from './handler.js';
