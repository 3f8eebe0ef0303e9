/**
 * File bodies for the import routes (docs/api.md "Imports"): a CSV or XLSX file sent as the
 * body itself, handed to the route as the stream and read within the import's limits
 * (IMPORT_LIMITS) as it arrives, refused at the first one passed, never buffered whole first.
 */
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HubError } from '../errors.js';
import { refusalReasons } from '../registry/import-file/limits.js';
import { formatOf, IMPORT_LIMITS, readTableFrom, type TableRow } from '../registry/import-file.js';
import { ApiError } from './errors.js';

export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** Lets CSV and XLSX bodies reach the routes of `app` (one plugin) as the stream itself. */
export function acceptUploads(app: FastifyInstance): void {
  app.addContentTypeParser(['text/csv', XLSX_TYPE], (_req, payload, done) => {
    done(null, payload);
  });
}

/**
 * The rows of the file in the body, named `file` in refusals. Any other body is a 415
 * (WANJI_E_API_UNSUPPORTED_MEDIA_TYPE); a file refused while read (format, size) throws its
 * HubError with the rest of the body left to drain (see `drainRefusedUpload`).
 */
export async function readUpload(req: FastifyRequest, file: string): Promise<TableRow[]> {
  const format = formatOf(req.headers['content-type'] ?? '');
  if (format === undefined || !(req.body instanceof Readable)) {
    throw new ApiError(
      415,
      'WANJI_E_API_UNSUPPORTED_MEDIA_TYPE',
      `send the file as text/csv or ${XLSX_TYPE}`,
    );
  }
  const length = req.headers['content-length'];
  return readTableFrom(req.body, format, file, {
    ...(length === undefined ? {} : { declaredBytes: Number(length) }),
  });
}

/**
 * After a refusal: the sender may still be sending. What follows is read and dropped so that
 * the refusal reaches it (closing at once would reset the connection and lose the answer),
 * but only up to one more file's worth; beyond that the connection is cut.
 */
export function drainRefusedUpload(raw: IncomingMessage): void {
  if (raw.complete) return;
  let dropped = 0;
  raw.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > IMPORT_LIMITS.maxBytes) raw.socket.destroy();
  });
  raw.resume();
}

/**
 * A refused import file as an error reply (ImportErrorReply): the code and English message as
 * every error has them, and `reasons`, the same as codes and parameters a page can word in its
 * own language (hub/registry/import-reasons.ts).
 */
export function sendImportRefusal(reply: FastifyReply, statusCode: number, err: HubError): FastifyReply {
  return reply.status(statusCode).send({
    statusCode,
    code: err.code,
    error: STATUS_CODES[statusCode] ?? 'Error',
    message: err.message,
    reasons: refusalReasons(err),
  });
}
