import { ApiError, api, request } from '@/api/client.js';
import { clientStrings } from '@/shared/strings.js';
import { session } from '@/session.js';

const apiBase = '/api/v1';

/** GET /matching/rules: one page {total, page, size, items} of the rules within the staff member's scope. */
export function listRules(params, signal) {
  return api.get('/matching/rules', params, { signal });
}

/** GET /matching/options: the years, streets, committees and campuses a rule of the district may name. */
export function getOptions(district) {
  return api.get('/matching/options', { district });
}

/**
 * Sends a request that changes something, with the session's CSRF token,
 * which the back office requires on every such request. `body` is sent as
 * JSON, `form` as multipart form data. Errors are ApiErrors as in the
 * client; a 422 import report comes back as the error's `report`.
 */
async function write(method, path, { body, form, query } = {}) {
  const headers = { Accept: 'application/json', 'X-CSRF-Token': session.staff?.csrfToken || '' };
  const init = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (form !== undefined) init.body = form;
  const search = new URLSearchParams(Object.entries(query || {}).filter(([, value]) => value !== '' && value !== undefined));
  let response;
  try {
    response = await fetch(apiBase + path + (search.size ? `?${search}` : ''), init);
  } catch {
    throw new ApiError({ status: 0, code: 'network_error', message: clientStrings.networkError });
  }
  const text = await response.text();
  let payload = null;
  try {
    payload = text ? JSON.parse(text) : null;
  } catch {
    payload = undefined;
  }
  if (response.ok) return payload;
  if (response.status === 422 && payload?.errors) {
    const error = new ApiError({ status: 422, code: 'import_rejected', message: '' });
    error.report = payload;
    throw error;
  }
  if (payload?.error?.message) throw new ApiError({ status: response.status, ...payload.error });
  throw new ApiError({ status: response.status, code: `http_${response.status}`, message: clientStrings.serverError(response.status) });
}

/** POST /matching/rules: creates a rule and returns it. */
export function createRule(rule) {
  return write('POST', '/matching/rules', { body: rule });
}

/** PUT /matching/rules/{id}: replaces a rule and returns it. */
export function updateRule(id, rule) {
  return write('PUT', `/matching/rules/${id}`, { body: rule });
}

/** DELETE /matching/rules/{id}. */
export function deleteRule(id) {
  return write('DELETE', `/matching/rules/${id}`);
}

/** POST /matching/rules/import: imports an xlsx file all or none and returns the report. */
export function importRules(file, { district, year }) {
  const form = new FormData();
  form.append('file', file);
  return write('POST', '/matching/rules/import', { form, query: { district, year } });
}

/** URL of the import template. */
export const templateURL = `${apiBase}/matching/rules/template.xlsx`;

/** GET /matching/validation: the validation summary and one page of unmatched addresses. */
export function runValidation({ district, year, page, size }) {
  return request('GET', '/matching/validation', { query: { district, year, page, size } });
}

/** Returns the URL of the unmatched-address export of a district and year. */
export function exportURL({ district, year }) {
  const search = new URLSearchParams(Object.entries({ district, year }).filter(([, value]) => value));
  return `${apiBase}/matching/validation/unmatched.xlsx${search.size ? `?${search}` : ''}`;
}
