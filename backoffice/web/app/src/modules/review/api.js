// API calls of the review module: document verification, returns, deletion requests, SMS templates
// and outbox, and the registration and application switches.
import { api, downloadURL } from '@/api/client.js';
import { session } from '@/session.js';

/** Returns the header that carries the session's CSRF token, which every change needs. */
function csrf() {
  return { headers: { 'X-CSRF-Token': session.staff?.csrfToken || '' } };
}

/** POST /applications/{number}/return: returns an application to the family with a reason. */
export function returnApplication(number, { reason, smsSendAt }) {
  return api.post(`/applications/${encodeURIComponent(number)}/return`, { reason, smsSendAt: smsSendAt || undefined }, csrf());
}

/** GET /applications/{number}/verification: the certificates to verify, what the family provided and the checks. */
export function getVerification(number, signal) {
  return api.get(`/applications/${encodeURIComponent(number)}/verification`, {}, { signal });
}

/** PUT /applications/{number}/verification/certificates/{code}: marks one certificate verified or not. */
export function checkCertificate(number, code, { verified, revision }) {
  return api.put(`/applications/${encodeURIComponent(number)}/verification/certificates/${encodeURIComponent(code)}`,
    { verified, revision }, csrf());
}

/** POST /applications/{number}/verification: marks the application 验证通过 once every certificate is verified. */
export function verifyApplication(number, { revision }) {
  return api.post(`/applications/${encodeURIComponent(number)}/verification`, { revision }, csrf());
}

/** GET /application-returns: one page of the returned applications in scope. */
export function listReturns({ page, size }, signal) {
  return api.get('/application-returns', { page, size }, { signal });
}

/** GET /deletion-requests: one page of deletion requests, filtered by status. */
export function listDeletionRequests({ page, size, status }, signal) {
  return api.get('/deletion-requests', { page, size, status }, { signal });
}

/** POST /deletion-requests: a district admin requests a deletion; confirmation must be 确认删除. */
export function requestDeletion({ recordKind, recordNumber, reason, confirmation }) {
  return api.post('/deletion-requests', { recordKind, recordNumber, reason, confirmation }, csrf());
}

/** POST /deletion-requests/{id}/approve: a city admin approves; the record is deleted. */
export function approveDeletion(id, { smsSendAt }) {
  return api.post(`/deletion-requests/${id}/approve`, { smsSendAt: smsSendAt || undefined }, csrf());
}

/** POST /deletion-requests/{id}/reject: a city admin rejects with a reason. */
export function rejectDeletion(id, { reason }) {
  return api.post(`/deletion-requests/${id}/reject`, { reason }, csrf());
}

/** GET /sms/events: the SMS events with their placeholders and default texts. */
export function listSmsEvents() {
  return api.get('/sms/events');
}

/** GET /sms/templates: the city's templates and those of the districts in scope. */
export function listSmsTemplates() {
  return api.get('/sms/templates');
}

/** POST /sms/templates: creates a template; districtCode '' means the city's default for city staff. */
export function createSmsTemplate(template) {
  return api.post('/sms/templates', template, csrf());
}

/** PUT /sms/templates/{id}: changes a template's text and whether it is enabled. */
export function updateSmsTemplate(id, { body, enabled }) {
  return api.put(`/sms/templates/${id}`, { body, enabled }, csrf());
}

/** DELETE /sms/templates/{id}. */
export function deleteSmsTemplate(id) {
  return api.delete(`/sms/templates/${id}`, csrf());
}

/** GET /sms/outbox: one page of outbox messages, phone numbers and names masked. */
export function listOutbox({ page, size, status, district, record }, signal) {
  return api.get('/sms/outbox', { page, size, status, district, record }, { signal });
}

/** POST /sms/outbox/{id}/retry: sends a failed message again. */
export function retryOutbox(id) {
  return api.post(`/sms/outbox/${id}/retry`, undefined, csrf());
}

/** GET /entry-states: the registration window and the districts' application windows. */
export function getEntryStates() {
  return api.get('/entry-states');
}

/** PUT /entry-states/{year}/registration: the city opens or closes registration. */
export function switchRegistration(year, { open, closesAt }) {
  return api.put(`/entry-states/${year}/registration`, { open, closesAt: closesAt || undefined }, csrf());
}

/** PUT /entry-states/{year}/districts/{district}/application: a district opens or closes its entries. */
export function switchApplication(year, district, { open, closesAt, entryIds }) {
  return api.put(`/entry-states/${year}/districts/${district}/application`,
    { open, closesAt: closesAt || undefined, entryIds: entryIds?.length ? entryIds : undefined }, csrf());
}

/** GET /forms/filled/{number}: the designed fields and the certificate files of a stored application. */
export function getFilledForm(number, signal) {
  return api.get(`/forms/filled/${encodeURIComponent(number)}`, {}, { signal });
}

/** Returns the URL of GET /forms/filled/{number}/files/{fileId}, one uploaded certificate file, for a link the browser opens. */
export function filledFileURL(number, fileId) {
  return downloadURL(`/forms/filled/${encodeURIComponent(number)}/files/${encodeURIComponent(fileId)}`);
}

/**
 * POST /supplementary/lookup: finds a registration for 补报名 by
 * { registrationNumber } (typed or scanned from the form's QR code) or by
 * { documentType, documentNumber, nationality }.
 */
export function lookupForSupplement(query) {
  return api.post('/supplementary/lookup', query, csrf());
}

/** GET /supplementary/options: the district's campuses and the categories with an entry in year. */
export function supplementOptions({ year, district }) {
  return api.get('/supplementary/options', { year, district });
}

/** POST /supplementary/applications: stores a 补报名 application as 验证通过 and queues the family's SMS. */
export function applySupplement(application) {
  return api.post('/supplementary/applications', application, csrf());
}

/** GET /feedback: one page of 办不成事 reports in scope, filtered by category, district and delivery status. */
export function listFeedback({ page, size, category, district, status }, signal) {
  return api.get('/feedback', { page, size, category, district, status }, { signal });
}

/** GET /feedback/summary: the number of reports by category, district and delivery status. */
export function feedbackSummary({ category, district, status } = {}) {
  return api.get('/feedback/summary', { category, district, status });
}
