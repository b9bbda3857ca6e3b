import { api } from '@/api/client.js';

// None of these calls redirects on 401: the sign-in flow handles that
// answer itself.
const quiet = { redirectOnUnauthorised: false };

/** GET /sign-in/options: {devSignIn, districts: [{code, name}]}. */
export function fetchSignInOptions() {
  return api.get('/sign-in/options', undefined, quiet);
}

/** GET /me: the signed-in staff member {id, name, role, scopeLevel, districtCode, districtName}. */
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
