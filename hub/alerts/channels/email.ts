/**
 * E-mail over SMTP (nodemailer): the notice's title as the subject, its lines as the text.
 * STARTTLS when the server offers it (`requireTLS` insists), TLS from the first byte with
 * `secure`; the password comes from the config or its `passwordFile`, never logged.
 */
import type { Static } from '@sinclair/typebox';
import nodemailer from 'nodemailer';
import { type EmailChannelSchema, languageOf } from '../config.js';
import type { Notice } from '../message.js';
import type { Channel } from './types.js';

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const stop = (): void => reject(new Error('no answer in time'));
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  });
}

export function emailChannel(
  name: string,
  c: Static<typeof EmailChannelSchema>,
  password: string | undefined,
  timeoutMs: number,
): Channel {
  const transport = nodemailer.createTransport({
    host: c.host,
    port: c.port ?? 587,
    secure: c.secure ?? false,
    requireTLS: c.requireTLS ?? false,
    ...(c.username === undefined ? {} : { auth: { user: c.username, pass: password ?? '' } }),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  const where = `smtp://${c.host}:${c.port ?? 587}`;
  return {
    name,
    type: 'email',
    language: languageOf(c),
    target: `${where} → ${c.to.join(', ')}`,
    async send(n: Notice, signal: AbortSignal): Promise<void> {
      signal.throwIfAborted();
      try {
        const sent = transport.sendMail({
          from: c.from,
          to: [...c.to],
          subject: n.title,
          text: `${n.lines.join('\n')}\n`,
        });
        // nodemailer takes no signal: a closing hub or a timeout stops waiting for it here.
        await Promise.race([sent, aborted(signal)]);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        const why = err instanceof Error ? err.message : String(err);
        // nodemailer's messages name the server's reply, never the password.
        throw new Error(`SMTP ${where}: ${typeof code === 'string' ? `${code} ` : ''}${why}`.slice(0, 300));
      }
    },
    async close(): Promise<void> {
      transport.close();
    },
  };
}
