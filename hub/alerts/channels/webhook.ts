/**
 * A generic webhook: POSTs one JSON document per notification, `{ event, hub, language,
 * title, text, alert }` (docs/alerts.md); any 2xx is taken.
 */
import type { Static } from '@sinclair/typebox';
import { languageOf, type WebhookChannelSchema } from '../config.js';
import type { Notice } from '../message.js';
import { postJson, redactUrl } from './http.js';
import type { Channel, ChannelContext } from './types.js';

export function webhookChannel(
  name: string,
  c: Static<typeof WebhookChannelSchema>,
  ctx: ChannelContext,
): Channel {
  return {
    name,
    type: 'webhook',
    language: languageOf(c),
    target: redactUrl(c.url),
    async send(n: Notice, signal: AbortSignal): Promise<void> {
      const body = {
        event: n.event,
        hub: ctx.hubId,
        language: n.language,
        title: n.title,
        text: n.lines.join('\n'),
        alert: n.alert ?? null,
      };
      await postJson(c.url, body, { signal, ...(c.headers === undefined ? {} : { headers: c.headers }) });
    },
    async close(): Promise<void> {},
  };
}
