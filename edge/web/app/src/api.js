// Client of the edge API (docs/edge-api.md). Every call goes through
// request(), which turns each failure into an ApiError carrying the edge's
// stable code, its Chinese message and the JSON path of the field at fault.
import { common } from './texts.js';

/**
 * A failed call. status is the HTTP status, or 0 when the network failed.
 * retryAfter is the Retry-After header in seconds on a 429 or 503, else 0.
 */
export class ApiError extends Error {
  constructor({ status, code, message, field = '', detail = {}, retryAfter = 0 }) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
    this.detail = detail;
    this.retryAfter = retryAfter;
  }

  get throttled() {
    return this.status === 429 || this.status === 503;
  }

  get signedOut() {
    return this.status === 401;
  }
}

// Reads Retry-After as seconds or as an HTTP date.
function parseRetryAfter(value) {
  if (!value) return 0;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(1, Math.ceil(seconds));
  const date = Date.parse(value);
  return Number.isNaN(date) ? 0 : Math.max(1, Math.ceil((date - Date.now()) / 1000));
}

// Sends one call. With binary set, a successful response body is returned
// as a Blob (a PDF, say) and only a failure is read as JSON.
async function request(method, path, { json, formData, binary = false } = {}) {
  const headers = { Accept: binary ? '*/*' : 'application/json' };
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (formData) {
    headers['X-Requested-With'] = 'fetch';
    body = formData;
  }

  let response;
  try {
    response = await fetch(path, { method, headers, body, credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiError({ status: 0, code: 'network_error', message: common.networkError });
  }

  if (binary && response.ok) {
    return { status: response.status, body: await response.blob() };
  }
  let payload = null;
  const type = response.headers.get('Content-Type') || '';
  if (type.includes('application/json')) {
    try {
      payload = await response.json();
    } catch {
      payload = null;
    }
  }
  if (response.ok && payload !== null) {
    return { status: response.status, body: payload };
  }

  const error = payload?.error;
  throw new ApiError({
    status: response.status,
    code: error?.code || 'unexpected_response',
    message: error?.message || common.serverError,
    field: error?.field || '',
    detail: error?.detail || {},
    retryAfter: parseRetryAfter(response.headers.get('Retry-After')),
  });
}

const get = async (path) => (await request('GET', path)).body;

// Reference data changes rarely, so each response is kept for the page's life.
const cache = new Map();
function cached(path) {
  if (!cache.has(path)) {
    const pending = get(path);
    cache.set(path, pending);
    pending.catch(() => cache.delete(path));
  }
  return cache.get(path);
}

/** Returns the path of a registration's filled form as a PDF. */
export function formPdfPath(number) {
  return `/api/v1/registrations/${encodeURIComponent(number)}/form.pdf`;
}

/** Returns the URL that starts sign-in and comes back to returnPath. */
export function signInURL(returnPath) {
  return `/auth/login?return=${encodeURIComponent(returnPath)}`;
}

export const api = {
  me: () => get('/api/v1/me'),
  signOut: () => request('POST', '/auth/logout', { json: {} }),

  catalogue: () => cached('/api/v1/catalogue'),
  streets: (districtCode) => cached(`/api/v1/districts/${encodeURIComponent(districtCode)}/streets`),
  committees: (streetCode) => cached(`/api/v1/streets/${encodeURIComponent(streetCode)}/committees`),

  /** Returns { status, body }: 202 for a new receipt, 200 with body.duplicate for a repeat. */
  submitRegistration: (registration) => request('POST', '/api/v1/registrations', { json: registration }),
  submitApplication: (application) => request('POST', '/api/v1/applications', { json: application }),
  applicationOptions: (registrationNumber, districtCode) =>
    get(`/api/v1/registrations/${encodeURIComponent(registrationNumber)}/options?district=${encodeURIComponent(districtCode)}`),

  feedbackSettings: () => cached('/api/v1/feedback/settings'),
  /** Sends a 办不成事 report: { category, body, page, step, trigger, districtCode, phone }. */
  submitFeedback: async (report) => (await request('POST', '/api/v1/feedback', { json: report })).body,

  receipt: (number) => get(`/api/v1/receipts/${encodeURIComponent(number)}`),
  /** Returns the filled registration form as a PDF Blob. */
  formPdf: async (number) =>
    (await request('GET', formPdfPath(number), { binary: true })).body,
  myReceipts: async () => (await get('/api/v1/me/receipts')).receipts || [],

  /** Returns { available, certificates } or { available: false, message }. */
  // districtCode is the residence district chosen on the form, which the edge counts the call in; '' before one is chosen.
  prefillCertificates: async (documentType, documentNumber, certificateTypes, districtCode = '') =>
    (await request('POST', '/api/v1/prefill/certificates', { json: { documentType, documentNumber, certificateTypes, districtCode } })).body,
  upload: async (file) => {
    const formData = new FormData();
    formData.append('file', file);
    return (await request('POST', '/api/v1/uploads', { formData })).body;
  },
};
