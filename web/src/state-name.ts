/** A machine state's name in the UI language (app.states). */
import { useI18n } from 'vue-i18n';
import { DASH } from './format';

/** The state's name; a state the app does not know as it came; a dash for none. */
export function useStateName(): (s: string | null | undefined) => string {
  const { t, te } = useI18n();
  return (s) => (s === null || s === undefined ? DASH : te(`app.states.${s}`) ? t(`app.states.${s}`) : s);
}
