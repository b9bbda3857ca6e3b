import { appStrings } from './strings.js';

// Staff read every time in Shanghai time, whatever their browser's zone.
const shanghaiTime = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

/** Formats an RFC 3339 time as "YYYY-MM-DD HH:mm:ss" in Asia/Shanghai, or a dash when it is missing or invalid. */
export function formatShanghaiTime(value) {
  if (!value) return appStrings.emptyValue;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return appStrings.emptyValue;
  const parts = Object.fromEntries(shanghaiTime.formatToParts(date).map((part) => [part.type, part.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`;
}

/** Returns the value, or a dash for an empty one. */
export function orDash(value) {
  return value === undefined || value === null || value === '' ? appStrings.emptyValue : value;
}
