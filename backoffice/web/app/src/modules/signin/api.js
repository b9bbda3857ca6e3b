import { api } from '@/api/client.js';

// None of these calls redirects on 401: the sign-in flow handles that
// answer itself.
const quiet = { redirectOnUnauthorised: false };

/** GET /sign-in/options: {devSignIn, districts: [{code, name}]}. */
export function fetchSignInOptions() {
  return api.get('/sign-in/options', undefined, quiet);
}

/** GET /me: the signed-in staff member {id, name, role, roleName, permissions, scopeLevel, districtCode, districtName, mustChangePassword, csrfToken}. */
export function fetchMe() {
  return api.get('/me', undefined, quiet);
}

/** POST /dev/sign-in: signs in as the city's or one district's admin and returns the staff member. */
export function devSignIn(level, districtCode) {
  return api.post('/dev/sign-in', level === 'district' ? { level, districtCode } : { level }, quiet);
}

/** POST /sign-out: clears the session cookie. */
export function signOut() {
  return api.post('/sign-out', undefined, quiet);
}

/**
 * POST /auth/login, the password step: {next, challenge, enrolment?}. next
 * is "totp", or "enrol_totp" on the first sign-in, when enrolment carries
 * {secret, otpauthUri} for the authenticator app.
 */
export function passwordSignIn(username, password) {
  return api.post('/auth/login', { username, password }, quiet);
}

/** POST /auth/totp, the code step: starts the session and returns the /me body. */
export function verifyCode(challenge, code) {
  return api.post('/auth/totp', { challenge, code }, quiet);
}

/** POST /auth/password: changes the signed-in staff member's password and returns the /me body. */
export function changePassword(currentPassword, newPassword) {
  return api.post('/auth/password', { currentPassword, newPassword });
}
