/**
 * Why an import refused a row or a file (the ledger upload, the declarations upload): the
 * hub's one catalogue of reason codes (hub/registry/import-reasons.ts), which also words the
 * annotated error spreadsheet, merged here as messages so the pages render the codes the hub
 * sends in the language chosen (web/src/import-reasons.ts).
 */
import { CHARACTER_WORDS, FIELD_WORDS, REASON_TEMPLATES } from '../../../hub/registry/import-reasons';
import type { PageMessages } from './index';

export const imports: PageMessages = {
  'zh-CN': {
    reason: { ...REASON_TEMPLATES['zh-CN'] },
    field: { ...FIELD_WORDS['zh-CN'] },
    character: { ...CHARACTER_WORDS['zh-CN'] },
    separator: '；',
  },
  en: {
    reason: { ...REASON_TEMPLATES.en },
    field: { ...FIELD_WORDS.en },
    character: { ...CHARACTER_WORDS.en },
    separator: '; ',
  },
};
