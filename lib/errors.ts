/**
 * orgconnect's own error classes. Like jose's, each has a stable `code` so callers can branch
 * on it without matching messages.
 */
export class OrgconnectError extends Error {
  readonly code: string = 'ERR_ORGCONNECT';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An option given to `createProvider` is missing or invalid; the message names the option. */
export class OptionsError extends OrgconnectError {
  override readonly code = 'ERR_ORGCONNECT_OPTIONS';
}

/** A seed file (organizations, users, applications) is invalid; the message names the entry. */
export class SeedError extends OrgconnectError {
  override readonly code = 'ERR_ORGCONNECT_SEED';
}

/** An application definition is invalid; the message names the application. */
export class ApplicationError extends OrgconnectError {
  override readonly code = 'ERR_ORGCONNECT_APPLICATION';
}

/** An API (resource server) definition is invalid or refused; the message names the API. */
export class ApiError extends OrgconnectError {
  override readonly code = 'ERR_ORGCONNECT_API';
}

/**
 * The store (Redis) cannot answer right now. It carries the fields oidc-provider's error handler
 * reads (`message` as the OAuth error code, `error_description`, `statusCode`, `expose`), so every
 * endpoint answers 503 `temporarily_unavailable` (RFC 6749 section 4.1.2.1) instead of a 500.
 */
export class StoreUnavailableError extends OrgconnectError {
  override readonly code = 'ERR_ORGCONNECT_STORE_UNAVAILABLE';
  readonly error = 'temporarily_unavailable';
  readonly error_description: string;
  readonly status = 503;
  readonly statusCode = 503;
  readonly expose = true;

  constructor(description = 'the store is unavailable', options?: { cause?: unknown }) {
    super('temporarily_unavailable', options);
    this.error_description = description;
  }
}

/**
 * Another write to the same application came first. `precondition` is true when the caller named
 * the version it expected (`If-Match`): the admin API answers 412, otherwise 409.
 */
export class ApplicationConflictError extends OrgconnectError {
  override readonly code = 'ERR_ORGCONNECT_CONFLICT';
  constructor(
    message: string,
    readonly precondition = false,
  ) {
    super(message);
  }
}

/**
 * Another write to the same API came first (the same code as ApplicationConflictError: the admin
 * API answers 412 when the caller named the version it expected, 409 otherwise).
 */
export class ApiConflictError extends OrgconnectError {
  override readonly code = 'ERR_ORGCONNECT_CONFLICT';
  constructor(
    message: string,
    readonly precondition = false,
  ) {
    super(message);
  }
}
