/** The seam every notification channel implements (one folder per kind: docs/alerts.md). */
import type { Logger } from 'pino';
import type { ChannelLanguage, ChannelType } from '../config.js';
import type { Notice } from '../message.js';

export interface Channel {
  readonly name: string;
  readonly type: ChannelType;
  readonly language: ChannelLanguage;
  /** Where it sends, without any secret (robot key, token, password): for logs and the API. */
  readonly target: string;
  /** Resolves when the far end took the message; rejects with a reason free of secrets. */
  send(n: Notice, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export interface ChannelContext {
  readonly hubId: string;
  readonly logger: Logger;
}
