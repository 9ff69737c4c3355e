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

/** The store (memory or Redis) cannot answer right now. Rendered as 503 temporarily_unavailable. */
export class StoreUnavailableError extends OrgconnectError {
  override readonly code = 'ERR_ORGCONNECT_STORE_UNAVAILABLE';
}
