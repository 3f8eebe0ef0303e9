/** The names the alerts page and its rules editor show for a severity and a rule kind. */
import { useI18n } from 'vue-i18n';

/** A severity reads without colour too. */
export const SEVERITY_ICON: Readonly<Record<string, string>> = { critical: '▲', warning: '◆', info: '●' };

export function useAlertNames(): { severityName(s: string): string; kindName(k: string): string } {
  const { t, te } = useI18n();
  return {
    severityName: (s) => (te(`alerts.severities.${s}`) ? t(`alerts.severities.${s}`) : s),
    kindName: (k) => (te(`alerts.kinds.${k}`) ? t(`alerts.kinds.${k}`) : k),
  };
}
