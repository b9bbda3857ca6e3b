import { api } from '@/api/client.js';

/**
 * GET /staff: one page {total, page, size, items} of accounts. Filters:
 * username and name (contain), role, status, scopeLevel, district.
 */
export function listStaff(params, signal) {
  return api.get('/staff', params, { signal });
}

/** POST /staff: creates an account and returns {staff, temporaryPassword}; the password is shown once. */
export function createStaff(account) {
  return api.post('/staff', account);
}

/** PATCH /staff/{id}: changes the fields sent; returns {staff}. A change of role, scope or status ends the account's sessions. */
export function updateStaff(id, changes) {
  return api.patch(`/staff/${id}`, changes);
}

/** POST /staff/{id}/password-reset: returns {staff, temporaryPassword}, which must be changed at the next sign-in. */
export function resetStaffPassword(id) {
  return api.post(`/staff/${id}/password-reset`);
}

/** POST /staff/{id}/totp-reset: the next sign-in enrols a new authenticator. */
export function resetStaffTOTP(id) {
  return api.post(`/staff/${id}/totp-reset`);
}

/** POST /staff/{id}/unlock: ends a lockout after failed sign-ins. */
export function unlockStaff(id) {
  return api.post(`/staff/${id}/unlock`);
}

/** GET /staff/scope-options: {streets: [{code, name}], kindergartens: [{id, name, streetCode}]} of one district. */
export function fetchScopeOptions(district) {
  return api.get('/staff/scope-options', { district });
}

/** GET /roles: {items: [{code, name, description, permissions, scopeLevels, businessData, builtIn, holders, updatedAt}]}. */
export function listRoles() {
  return api.get('/roles');
}

/** GET /permissions: {items: [{code, name, group, duty, businessData}]}, the catalogue in display order. */
export function listPermissions() {
  return api.get('/permissions');
}

/** PUT /roles/{code}/permissions: replaces a role's permissions and returns {role}; its holders' sessions end. */
export function updateRolePermissions(code, permissions) {
  return api.put(`/roles/${encodeURIComponent(code)}/permissions`, { permissions });
}
