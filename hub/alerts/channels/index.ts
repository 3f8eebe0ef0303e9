/**
 * The notification channels, by the config's `type` (one file per kind): each factory reads
 * what it needs (a secret file) and returns a Channel.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { HubError } from '../../errors.js';
import type { ChannelConfig, ChannelType } from '../config.js';
import { dingTalkChannel } from './dingtalk.js';
import { emailChannel } from './email.js';
import type { Channel } from './types.js';
import { webhookChannel } from './webhook.js';
import { weComChannel } from './wecom.js';

export type { Channel } from './types.js';

export interface ChannelFactoryContext {
  readonly hubId: string;
  readonly logger: Logger;
  readonly timeoutMs: number;
}

async function secretFrom(name: string, key: string, path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new HubError(
      'WANJI_E_HUB_CONFIG',
      `alerts.channels.${name}.${key} ${path}: cannot read it (${code}); give a file holding only the secret`,
      { cause: err },
    );
  }
  const secret = text.replace(/\r?\n$/, '');
  if (secret === '') {
    throw new HubError(
      'WANJI_E_HUB_CONFIG',
      `alerts.channels.${name}.${key} ${path} is empty; put the secret in it`,
    );
  }
  return secret;
}

type Factory<T extends ChannelType> = (
  name: string,
  c: Extract<ChannelConfig, { type: T }>,
  ctx: ChannelFactoryContext,
) => Promise<Channel>;

const FACTORIES: { readonly [T in ChannelType]: Factory<T> } = {
  webhook: async (name, c, ctx) => webhookChannel(name, c, ctx),
  wecom: async (name, c) => weComChannel(name, c),
  dingtalk: async (name, c) => {
    const secret = c.secretFile === undefined ? c.secret : await secretFrom(name, 'secretFile', c.secretFile);
    return dingTalkChannel(name, c, secret, Date.now);
  },
  email: async (name, c, ctx) => {
    const password =
      c.passwordFile === undefined ? c.password : await secretFrom(name, 'passwordFile', c.passwordFile);
    return emailChannel(name, c, password, ctx.timeoutMs);
  },
};

export function createChannel(name: string, c: ChannelConfig, ctx: ChannelFactoryContext): Promise<Channel> {
  const make = FACTORIES[c.type] as Factory<ChannelType>;
  return make(name, c as Extract<ChannelConfig, { type: ChannelType }>, ctx);
}
