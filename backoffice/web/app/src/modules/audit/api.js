import { api, download } from '@/api/client.js';

/**
 * GET /audit-events: one page {total, page, size, items} of the audit
 * trail, newest first. Filters: from and to (dates, inclusive), actor and
 * action (contain), resource and resourceId (exact), outcome, district.
 */
export function listAuditEvents(params, signal) {
  return api.get('/audit-events', params, { signal });
}

/** Starts the download of GET /audit-events/export, the xlsx of the events the filters match. */
export function exportAuditEvents(filters) {
  download('/audit-events/export', filters);
}

/** GET /audit-events/verify: {rows, intact, problems: [{id, reason, reasonLabel}]} of the SM3 hash chain. */
export function verifyAuditChain() {
  return api.get('/audit-events/verify');
}

/** GET /login-log: one page of sign-in attempts. Filters: username (contains), success ("true" or "false"), from and to. */
export function listLoginLog(params, signal) {
  return api.get('/login-log', params, { signal });
}

/** Starts the download of GET /login-log/export, the xlsx of the attempts the filters match. */
export function exportLoginLog(filters) {
  download('/login-log/export', filters);
}
