// `ovis serve` as a library: the fetch handler and the runtime adapters.
export {
  createServer,
  OvisServer,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_QUEUE,
  type ChatEngine,
  type Handler,
  type ServerOptions,
  type ServerEvent,
} from './handler.js';
export { listen, listenNode, listenDeno, listenBun, currentRuntime, type Listening, type ListenOptions } from './adapters.js';
export { HttpError } from './errors.js';
