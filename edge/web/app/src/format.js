// Formatting of dates, times and windows in Shanghai time.
import { common } from './texts.js';

const dateTimeFormat = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai', year: 'numeric', month: 'numeric', day: 'numeric',
  hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
});

function parts(date) {
  const values = {};
  for (const part of dateTimeFormat.formatToParts(date)) values[part.type] = part.value;
  return values;
}

/** Formats an RFC 3339 time as "2027年1月3日 20:18" in Shanghai time. */
export function formatDateTime(value) {
  if (!value) return '';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  const p = parts(date);
  return `${p.year}年${p.month}月${p.day}日 ${p.hour}:${p.minute}`;
}

/** Formats "2023-09-01" as "2023年9月1日". */
export function formatDate(value) {
  const found = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || '');
  if (!found) return value || '';
  return `${found[1]}年${Number(found[2])}月${Number(found[3])}日`;
}

/**
 * Returns 'open', 'not-yet-open' or 'closed'. The edge's open flag decides,
 * because the phone's clock may be wrong. The clock only separates a window
 * that has not opened from one that has ended.
 */
export function windowState(opensAt, isOpen) {
  if (isOpen) return 'open';
  return Date.now() < Date.parse(opensAt) ? 'not-yet-open' : 'closed';
}

export const windowLabels = {
  open: common.open,
  'not-yet-open': common.notYetOpen,
  closed: common.closed,
};
