import { api } from '@/api/client.js';

/**
 * GET /registrations: one page {total, page, size, items} of the
 * registrations within the staff member's scope. `district` is for city
 * staff only, because the back office returns 403 out_of_scope to anyone else.
 */
export function listRegistrations({ page, size, status, number, district }, signal) {
  return api.get('/registrations', { page, size, status, number, district }, { signal });
}

/** GET /registrations/{number}: one registration, or 403 out_of_scope outside the scope, or 404 when none exists. */
export function getRegistration(number) {
  return api.get(`/registrations/${encodeURIComponent(number)}`);
}

/**
 * GET /applications: one page of the applications within the staff
 * member's scope. `district` is for city staff only, as for registrations.
 */
export function listApplications({ page, size, status, number, district }, signal) {
  return api.get('/applications', { page, size, status, number, district }, { signal });
}
