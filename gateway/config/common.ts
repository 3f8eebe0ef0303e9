/** Schema pieces shared by the gateway config and the protocol-specific schemas. */
import { Type } from '@sinclair/typebox';

export const TagName = Type.String({
  minLength: 1,
  description: 'a signal name, published as the metric "Signals/<name>"',
});

export const Deadband = Type.Number({
  minimum: 0,
  default: 0,
  description: 'the absolute change a number must exceed to be published (0 = any change)',
});
