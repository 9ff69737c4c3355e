import { OrgconnectError, type ApiError, type ApplicationConflictError, type ApplicationError, type StoreUnavailableError } from '../errors.js';

/**
 * An admin API error: an HTTP status, a stable `error` code and a one-line `error_description`.
 * Every failure of the admin API, in the HTTP layer and in the CLI, is one of these.
 */
export class AdminError extends OrgconnectError {
  override readonly code = 'ERR_ORGCONNECT_ADMIN';

  constructor(
    readonly status: number,
    readonly error: string,
    description: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(description);
  }

  get body(): ErrorBody {
    return { error: this.error, error_description: this.message };
  }
}

/** The body of every admin API error response. */
export interface ErrorBody {
  error: string;
  error_description: string;
}

export const badRequest = (description: string) => new AdminError(400, 'invalid_request', description);
export const notFound = (description: string) => new AdminError(404, 'not_found', description);
export const unprocessable = (description: string) => new AdminError(422, 'unprocessable_entity', description);

const APPLICATION_ERROR = 'ERR_ORGCONNECT_APPLICATION' satisfies ApplicationError['code'];
const API_ERROR = 'ERR_ORGCONNECT_API' satisfies ApiError['code'];
const CONFLICT = 'ERR_ORGCONNECT_CONFLICT' satisfies ApplicationConflictError['code'];
const STORE_UNAVAILABLE = 'ERR_ORGCONNECT_STORE_UNAVAILABLE' satisfies StoreUnavailableError['code'];

/**
 * Any error as an admin error: the registries' ApplicationError and ApiError (a valid request the
 * registry refuses: third-party app without organization, bad redirect URI, too many secrets, an
 * API identifier already taken, a configured API) is a 422;
 * a conflicting write 409, or 412 when the request's `If-Match` no longer holds;
 * a store outage a 503; anything else a 500 that reveals nothing (`exposed` false).
 * Errors are told apart by their stable `code`, not `instanceof`: a store loaded on demand may
 * come from another copy of the module graph (a CommonJS and an ESM instance under a test runner).
 */
export function toAdminError(error: unknown): { error: AdminError; exposed: boolean } {
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof AdminError || code === 'ERR_ORGCONNECT_ADMIN') return { error: error as AdminError, exposed: true };
  if (code === APPLICATION_ERROR || code === API_ERROR) return { error: unprocessable((error as Error).message), exposed: true };
  if (code === CONFLICT) {
    const { message, precondition } = error as ApplicationConflictError;
    return { error: precondition ? new AdminError(412, 'precondition_failed', message) : new AdminError(409, 'conflict', message), exposed: true };
  }
  if (code === STORE_UNAVAILABLE) {
    const description = (error as StoreUnavailableError).error_description;
    return { error: new AdminError(503, 'temporarily_unavailable', description, { 'Retry-After': '1' }), exposed: true };
  }
  return { error: new AdminError(500, 'server_error', 'internal server error'), exposed: false };
}
