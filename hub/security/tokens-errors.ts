/** Errors of the API token store, with stable codes (protocol/errors.ts, docs/errors.md). */
import { WanjiError } from '../../protocol/errors.js';

export type TokenErrorCode = 'WANJI_E_TOKEN_INVALID' | 'WANJI_E_TOKEN_NOT_FOUND';

export class TokenError extends WanjiError<TokenErrorCode> {
  constructor(code: TokenErrorCode, message: string) {
    super(code, message);
    this.name = 'TokenError';
  }
}
