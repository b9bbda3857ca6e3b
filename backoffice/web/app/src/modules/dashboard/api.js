// Calls of the dashboard module. Every panel takes the same query:
// period, date, from, to (the range), district and street (the drill-down)
// and year.
import { ApiError, api } from '@/api/client.js';
import { session } from '@/session.js';

export const enrolmentSummary = (kind, query, signal) => api.get(`/dashboard/enrolment/${kind}/summary`, query, { signal });
export const enrolmentTrend = (kind, query, signal) => api.get(`/dashboard/enrolment/${kind}/trend`, query, { signal });
export const enrolmentHistory = (kind, query, signal) => api.get(`/dashboard/enrolment/${kind}/history`, query, { signal });
export const enrolmentOverview = (query, signal) => api.get('/dashboard/enrolment/overview', query, { signal });
export const publicOpinion = (query, signal) => api.get('/dashboard/enrolment/opinion', query, { signal });
export const nurseryPlaces = (query, signal) => api.get('/dashboard/enrolment/nursery', query, { signal });
export const enrolmentReport = (query, signal) => api.get('/dashboard/enrolment/report', query, { signal });
export const certificateCalls = (query, signal) => api.get('/dashboard/enrolment/certificates', query, { signal });

export const developmentPanel = (panel, query, signal) => api.get(`/dashboard/development/${panel}`, query, { signal });
export const developmentReport = (query, signal) => api.get('/dashboard/development/report', query, { signal });

export const enrolmentState = (signal) => api.get('/dashboard/enrolment/state', {}, { signal });
export const systemState = (signal) => api.get('/dashboard/system', {}, { signal });
export const systemVisits = (signal) => api.get('/dashboard/system/visits', {}, { signal });

export const alertList = () => api.get('/dashboard/alerts');
export const alertThresholds = () => api.get('/dashboard/alert-thresholds');

/** Returns the URL of an xlsx export of path with query, for a download link. */
export function exportURL(path, query) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
  }
  return `/api/v1${path}?${params}`;
}

/**
 * PUT /dashboard/alert-thresholds/{code}. It sends the session's CSRF
 * token, which the back office requires on every change.
 */
export async function updateThreshold(code, threshold) {
  const response = await fetch(`/api/v1/dashboard/alert-thresholds/${encodeURIComponent(code)}`, {
    method: 'PUT',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': session.staff?.csrfToken || '' },
    body: JSON.stringify({ threshold }),
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    throw new ApiError({ status: response.status, code: body?.error?.code || 'request_failed', message: body?.error?.message || `HTTP ${response.status}` });
  }
  return body;
}
