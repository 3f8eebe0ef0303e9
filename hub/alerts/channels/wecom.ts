/**
 * A WeCom (企业微信) group robot: `{ msgtype: 'markdown', markdown: { content } }` POSTed to
 * its webhook URL (the `key` in it is the secret); the reply's errcode must be 0.
 */
import type { Static } from '@sinclair/typebox';
import { languageOf, type WeComChannelSchema } from '../config.js';
import { markdown, type Notice } from '../message.js';
import { checkErrcode, postJson, redactUrl } from './http.js';
import type { Channel } from './types.js';

/** WeCom takes at most 4,096 bytes of markdown content. */
const MAX_BYTES = 4_096;

function withinLimit(text: string): string {
  if (Buffer.byteLength(text) <= MAX_BYTES) return text;
  let s = text;
  while (Buffer.byteLength(`${s}…`) > MAX_BYTES) s = s.slice(0, -1);
  return `${s}…`;
}

export function weComChannel(name: string, c: Static<typeof WeComChannelSchema>): Channel {
  const where = redactUrl(c.url);
  return {
    name,
    type: 'wecom',
    language: languageOf(c),
    target: where,
    async send(n: Notice, signal: AbortSignal): Promise<void> {
      const text = await postJson(
        c.url,
        { msgtype: 'markdown', markdown: { content: withinLimit(markdown(n)) } },
        { signal },
      );
      checkErrcode(where, text);
    },
    async close(): Promise<void> {},
  };
}
