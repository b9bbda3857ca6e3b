// Formats alert values and thresholds by the unit the API sends with them:
// a rate (a fraction) as a percentage, a count as a whole number of items,
// a duration in milliseconds.
import { dashboardStrings as strings } from './strings.js';
import { percent } from './useDrillDown.js';

/** Formats value in unit ('rate', 'count' or 'ms'). */
export function alertValue(value, unit) {
  if (value === null || value === undefined) return '—';
  if (unit === 'count') return strings.countValue(value);
  if (unit === 'ms') return strings.millisecondsValue(value);
  return percent(value);
}

/** Formats an alert's value with its threshold, such as "78 个，阈值 50 个". */
export const alertFigure = (alert) => strings.alertFigure(alertValue(alert.value, alert.unit), alertValue(alert.threshold, alert.unit));
