/** Errors of the API token store, with stable codes (docs/errors.md). */
export type TokenErrorCode = 'WANJI_E_TOKEN_INVALID' | 'WANJI_E_TOKEN_NOT_FOUND';

export class TokenError extends Error {
  readonly code: TokenErrorCode;
  constructor(code: TokenErrorCode, message: string) {
    super(message);
    this.name = 'TokenError';
    this.code = code;
  }
}
