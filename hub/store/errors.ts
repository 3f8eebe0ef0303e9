/**
 * Store errors carry what the ingest needs to decide: retry later (`retryable`) or give the
 * batch up for good, and the server's own detail (HTTP status, its message).
 */
import { HubError, type HubErrorCode } from '../errors.js';

export type StoreErrorCode = Extract<HubErrorCode, `WANJI_E_STORE${string}`>;

export class StoreError extends HubError {
  /** The server's HTTP status; undefined when there was no answer (refused, reset, timed out). */
  readonly status: number | undefined;
  /**
   * false only when the data itself is unacceptable (HTTP 400, 413, 422): sending the same
   * batch again can never succeed. Everything else (network, 5xx, 429, auth, missing
   * database) is worth retrying once the operator or the server has recovered.
   */
  readonly retryable: boolean;

  constructor(
    code: StoreErrorCode,
    message: string,
    opts: { status?: number; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(code, message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'StoreError';
    this.status = opts.status;
    this.retryable = opts.retryable ?? code !== 'WANJI_E_STORE_REJECTED';
  }
}

/** The code for an HTTP answer that is not a success. */
export function codeForStatus(status: number): StoreErrorCode {
  if (status === 400 || status === 413 || status === 422) return 'WANJI_E_STORE_REJECTED';
  if (status === 401 || status === 403) return 'WANJI_E_STORE_AUTH';
  if (status === 404) return 'WANJI_E_STORE_NOT_FOUND';
  return 'WANJI_E_STORE_UNAVAILABLE';
}

/** Whether an error from `SampleStore.write` means "this batch can never be written". */
export function isPermanentStoreError(err: unknown): boolean {
  return err instanceof StoreError && !err.retryable;
}
