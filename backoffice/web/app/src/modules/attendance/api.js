import { api } from '@/api/client.js';
import { session } from '@/session.js';
import { ApiError } from '@/api/client.js';

const base = '/dashboard/attendance';

/**
 * Builds the drill-down and period parameters every panel takes. node is
 * {level, districtCode, streetCode, kindergartenId} and period is {range, date, from, to}.
 */
export function panelQuery(node, period, extra = {}) {
  const query = { range: period.range, date: period.date, ...extra };
  if (period.range === 'custom') Object.assign(query, { from: period.from, to: period.to });
  if (node?.level === 'kindergarten') query.kindergarten = node.kindergartenId;
  else if (node?.level === 'street') query.street = node.streetCode;
  else if (node?.level === 'district') query.district = node.districtCode;
  return query;
}

/** GET one panel (today, ranking, morning-check, trend, leave-reasons, arrivals, report). */
export function fetchPanel(panel, query, signal) {
  return api.get(`${base}/${panel}`, query, { signal });
}

/** Returns the URL of the report's xlsx export for query. */
export function reportWorkbookURL(query) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
  }
  return `/api/v1${base}/report.xlsx?${params}`;
}

/** POST /monitoring/attendance/import: a CSV or xlsx file of one kindergarten's attendance. */
export async function importAttendance(kindergartenId, file) {
  const form = new FormData();
  form.set('kindergartenId', String(kindergartenId));
  form.set('file', file);
  const response = await fetch('/api/v1/monitoring/attendance/import', {
    method: 'POST', body: form, credentials: 'same-origin',
    headers: { Accept: 'application/json', 'X-CSRF-Token': session.staff?.csrfToken || '' },
  });
  const payload = await response.json().catch(() => null);
  if (!response.ok) {
    throw new ApiError({ status: response.status, ...(payload?.error || { code: `http_${response.status}`, message: `导入失败（${response.status}）。` }) });
  }
  return payload;
}
