// Calls of the forms module: the field and certificate libraries and the
// form designer. Writes carry the session's CSRF token, which the back
// office requires on every request that changes something.
import { api, ApiError, request } from '@/api/client.js';
import { session } from '@/session.js';

// The shared client sends no headers of its own, so writes go through
// fetch here with the X-CSRF-Token header and the same error shape.
async function write(method, path, body) {
  const headers = { Accept: 'application/json', 'X-CSRF-Token': session.staff?.csrfToken || '' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError({ status: 0, code: 'network_error', message: '网络连接失败，请检查网络后重试。' });
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let payload = null;
  try {
    payload = text ? JSON.parse(text) : null;
  } catch {
    payload = null;
  }
  if (response.ok) return payload;
  if (response.status === 401) {
    // GET /me fails with 401 too, and the shared client then runs its
    // sign-in redirect and throws.
    return request('GET', '/me');
  }
  throw new ApiError({
    status: response.status,
    ...(payload?.error || { code: `http_${response.status}`, message: `操作失败（HTTP ${response.status}），请稍后重试。` }),
  });
}

function districtQuery(district) {
  return district ? { district } : {};
}

/** GET /forms/fields: {districtCode, city, overrides}. */
export const listFields = (district) => api.get('/forms/fields', districtQuery(district));
/** POST /forms/fields: a city field, or a district's override of one. */
export const createField = (field) => write('POST', '/forms/fields', field);
export const updateField = (id, field) => write('PUT', `/forms/fields/${id}`, field);
export const deleteField = (id) => write('DELETE', `/forms/fields/${id}`);

/** GET /forms/certificates: {districtCode, city, overrides}. */
export const listCertificates = (district) => api.get('/forms/certificates', districtQuery(district));
export const createCertificate = (certificate) => write('POST', '/forms/certificates', certificate);
export const updateCertificate = (id, certificate) => write('PUT', `/forms/certificates/${id}`, certificate);
export const deleteCertificate = (id) => write('DELETE', `/forms/certificates/${id}`);

/** GET /forms/categories: the household categories, the keys of entry forms. */
export const listCategories = () => api.get('/forms/categories');
/** GET /dictionaries: the dictionaries a select field can take options from. */
export const listDictionaries = () => api.get('/dictionaries');

function formQuery(key) {
  return key.districtCode ? `?district=${encodeURIComponent(key.districtCode)}&category=${encodeURIComponent(key.categoryCode)}` : '';
}

/** GET /forms/designs/{kind}: {key, design, draftUpdatedAt, versions, preview}. */
export const getDesign = (key) => api.get(`/forms/designs/${key.kind}${formQuery(key)}`);
/** POST /forms/designs/{kind}/preview: {preview}, the schema a design gives. */
export const previewDesign = (key, design) => write('POST', `/forms/designs/${key.kind}/preview${formQuery(key)}`, { design });
/** PUT /forms/designs/{kind}: saves the draft, {draftUpdatedAt, preview}. */
export const saveDesign = (key, design) => write('PUT', `/forms/designs/${key.kind}${formQuery(key)}`, { design });
/** POST /forms/designs/{kind}/publish: {version, body}. */
export const publishDesign = (key) => write('POST', `/forms/designs/${key.kind}/publish${formQuery(key)}`);
/** GET /forms/designs/{kind}/versions/{version}: {version, body}. */
export const getVersion = (key, version) => api.get(`/forms/designs/${key.kind}/versions/${version}${formQuery(key)}`);

/**
 * Returns the library rows a district's forms use: an override replaces
 * the city row with its code, and disabled rows are left out.
 */
export function effectiveRows(body) {
  const rows = new Map();
  for (const row of body.city) rows.set(row.code, row);
  for (const row of body.overrides) rows.set(row.code, row);
  return [...rows.values()].filter((row) => row.enabled);
}
