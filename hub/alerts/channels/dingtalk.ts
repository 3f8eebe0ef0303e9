/**
 * A DingTalk (钉钉) custom robot: `{ msgtype: 'markdown', markdown: { title, text } }` POSTed
 * to its webhook URL (the access_token in it is a secret). With the robot's 加签 secret each
 * request carries `timestamp` (ms) and `sign` = Base64(HMAC-SHA256(secret,
 * timestamp + "\n" + secret)), URL-encoded, as DingTalk's documentation for custom robots
 * says; the reply's errcode must be 0.
 */
import { createHmac } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import { type DingTalkChannelSchema, languageOf } from '../config.js';
import { markdown, type Notice } from '../message.js';
import { checkErrcode, postJson, redactUrl } from './http.js';
import type { Channel } from './types.js';

export function dingTalkSign(secret: string, timestamp: number): string {
  return createHmac('sha256', secret).update(`${timestamp}\n${secret}`, 'utf8').digest('base64');
}

/** The robot URL with `timestamp` and `sign` appended. */
export function signedUrl(url: string, secret: string, timestamp: number): string {
  const u = new URL(url);
  u.searchParams.set('timestamp', String(timestamp));
  u.searchParams.set('sign', dingTalkSign(secret, timestamp));
  return u.toString();
}

export function dingTalkChannel(
  name: string,
  c: Static<typeof DingTalkChannelSchema>,
  secret: string | undefined,
  clock: () => number,
): Channel {
  const where = redactUrl(c.url);
  return {
    name,
    type: 'dingtalk',
    language: languageOf(c),
    target: where,
    async send(n: Notice, signal: AbortSignal): Promise<void> {
      // DingTalk refuses a timestamp more than an hour from its own clock: the real time here.
      const url = secret === undefined ? c.url : signedUrl(c.url, secret, clock());
      const body = { msgtype: 'markdown', markdown: { title: n.title, text: markdown(n) } };
      const text = await postJson(url, body, { signal });
      checkErrcode(where, text);
    },
    async close(): Promise<void> {},
  };
}
