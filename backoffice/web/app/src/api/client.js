// The one HTTP client of the admin app. Every call to the back-office API
// goes through request(), which sends and decodes JSON and turns every
// failure into an ApiError whose message is Chinese and safe to show.
import { clientStrings } from '@/shared/strings.js';

const apiBase = '/api/v1';

/** A failed API call: the HTTP status (0 when no response arrived) and the API's error body. */
export class ApiError extends Error {
  constructor({ status, code, message, field }) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field || '';
  }
}

let unauthorisedHandler = () => {};
let csrfToken = '';

/**
 * Sets the session's CSRF token, which every request other than GET and
 * HEAD sends in the X-CSRF-Token header. The back office hands it out in
 * GET /me and in the sign-in responses; an empty token sends none.
 */
export function setCsrfToken(token) {
  csrfToken = token || '';
}

/**
 * Sets the function called on a 401 response, which means the session
 * expired or never existed. main.js points it at the sign-in page.
 */
export function setUnauthorisedHandler(handler) {
  unauthorisedHandler = handler;
}

function buildURL(path, query) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
  }
  const search = params.toString();
  return apiBase + path + (search ? `?${search}` : '');
}

async function readBody(response) {
  const text = await response.text();
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Sends one request and returns the decoded JSON body. Throws an ApiError
 * for a network failure or a non-2xx response, and the browser's AbortError
 * for an aborted request. A 401 also calls the unauthorised handler, unless
 * options.redirectOnUnauthorised is false. options.headers adds headers,
 * such as the CSRF token that every change needs.
 */
export async function request(method, path, options = {}) {
  const { query, body, signal, headers, redirectOnUnauthorised = true } = options;
  const init = { method, headers: { Accept: 'application/json', ...headers }, credentials: 'same-origin', signal };
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) init.headers['X-CSRF-Token'] = csrfToken;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }

  let response;
  try {
    response = await fetch(buildURL(path, query), init);
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError({ status: 0, code: 'network_error', message: clientStrings.networkError });
  }

  const payload = await readBody(response);
  if (response.ok) {
    // 204 No Content, for example a deleted dictionary item, has no body.
    if (payload === null) return null;
    if (payload === undefined) {
      throw new ApiError({ status: response.status, code: 'invalid_response', message: clientStrings.invalidResponse });
    }
    return payload;
  }

  const error = payload?.error?.message
    ? new ApiError({ status: response.status, ...payload.error })
    : new ApiError({ status: response.status, code: `http_${response.status}`, message: clientStrings.serverError(response.status) });
  if (response.status === 401 && redirectOnUnauthorised) unauthorisedHandler(error);
  throw error;
}

export const api = {
  get: (path, query, options = {}) => request('GET', path, { ...options, query }),
  post: (path, body, options = {}) => request('POST', path, { ...options, body }),
  put: (path, body, options = {}) => request('PUT', path, { ...options, body }),
  patch: (path, body, options = {}) => request('PATCH', path, { ...options, body }),
  delete: (path, options = {}) => request('DELETE', path, options),
};

/**
 * Returns the URL of a GET endpoint with its query, for downloads such as
 * the xlsx exports: the browser fetches them itself, with the session
 * cookie, and saves the streamed file.
 */
export function downloadURL(path, query) {
  return buildURL(path, query);
}

/** Starts the browser's download of a GET endpoint's file. */
export function download(path, query) {
  const link = document.createElement('a');
  link.href = downloadURL(path, query);
  link.rel = 'noopener';
  link.download = '';
  document.body.append(link);
  link.click();
  link.remove();
}
