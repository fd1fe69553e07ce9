// HTTP errors of `ovis serve`, in OpenAI's shape `{error: {message, type, param, code}}`.
// Everything a request can fail with becomes an HttpError here, once: the handler's own checks
// (bad JSON, a field, auth, size, queue), the library's typed errors (OvisError: INPUT, IMAGE and
// TOKENIZER are the client's fault, 400; the rest are ours, 500 with their message), and anything
// else (a bug: 500 with a generic message; the caller logs the stack).

import { OvisError } from '../errors.js';
import { QueueCancelledError, QueueFullError } from './queue.js';

/** OpenAI's error `type` values (plus ours for 503). */
export type ErrorType = 'invalid_request_error' | 'authentication_error' | 'not_found_error' | 'rate_limit_error' | 'server_error';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** A stable machine-readable name: 'invalid_json', 'invalid_field', 'model_not_found', ... */
    readonly code: string,
    /** The request field at fault, as a path: `messages[1].content[0].image_url`. */
    readonly param: string | null = null,
    /** Extra response headers (Retry-After, Allow, WWW-Authenticate). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }

  get type(): ErrorType {
    return this.status === 401
      ? 'authentication_error'
      : this.status === 404 && this.code !== 'model_not_found'
        ? 'not_found_error'
        : this.status === 429
          ? 'rate_limit_error'
          : this.status >= 500
            ? 'server_error'
            : 'invalid_request_error';
  }

  /** OpenAI's error body. */
  toJSON(): { error: { message: string; type: ErrorType; param: string | null; code: string } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** A field with a bad value: 400 naming it. */
export function badField(param: string, message: string): HttpError {
  return new HttpError(400, `${param}: ${message}`, 'invalid_field', param);
}

/** Library OvisError codes that mean "the request is wrong" (400); every other code is ours (500). */
const CLIENT_CODES: Record<string, string> = { INPUT: 'invalid_input', IMAGE: 'invalid_image', TOKENIZER: 'tokenizer_error' };

/** Any thrown value -> the HttpError to answer with. `internal` is true for a non-Ovis error
 *  (a bug): its message is not shown to the client, and the caller must log it. */
export function toHttpError(e: unknown, retryAfterSeconds = 1): { error: HttpError; internal: boolean } {
  if (e instanceof HttpError) return { error: e, internal: false };
  if (e instanceof QueueFullError) {
    return {
      error: new HttpError(
        429,
        `the server is busy: ${e.waiting} request(s) are already waiting for the model; retry later`,
        'queue_full',
        null,
        { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
      ),
      internal: false,
    };
  }
  if (e instanceof QueueCancelledError) {
    return {
      error:
        e.reason === 'closed'
          ? new HttpError(503, 'the server is shutting down', 'shutting_down')
          : new HttpError(499, 'the client closed the request', 'client_closed'),
      internal: false,
    };
  }
  if (e instanceof OvisError) {
    const client = CLIENT_CODES[e.code];
    return { error: new HttpError(client ? 400 : 500, e.message, client ?? `engine_error_${e.code.toLowerCase()}`), internal: false };
  }
  return { error: new HttpError(500, 'internal server error (logged on the server)', 'internal_error'), internal: true };
}
