// The signed-in staff member and the list of districts, shared by the
// layout, the sign-in page and the list filters.
import { reactive, readonly } from 'vue';
import { setCsrfToken } from '@/api/client.js';
import { fetchMe, fetchSignInOptions } from '@/modules/signin/api.js';

const state = reactive({
  staff: null,
  // Whether GET /me has responded since the page loaded, so the app does
  // not ask again on every navigation while no one is signed in.
  staffChecked: false,
  districts: [],
});

export const session = readonly(state);

export function setStaff(staff) {
  state.staff = staff;
  state.staffChecked = true;
  setCsrfToken(staff?.csrfToken);
}

export function clearStaff() {
  state.staff = null;
  state.staffChecked = true;
  setCsrfToken('');
}

/**
 * Returns whether the signed-in staff member's role has a permission
 * code, such as 'staff.write'. Menus and buttons use it; the back office
 * checks the same permission on every request.
 */
export function can(permission) {
  return Boolean(state.staff?.permissions?.includes(permission));
}

/** Returns the level of the signed-in staff member's data scope: 'city', 'district', 'street' or 'kindergarten'. */
export function scopeLevel() {
  return state.staff?.scopeLevel || '';
}

/** Returns whether the signed-in staff member's scope is the whole city. */
export function isCityStaff() {
  return state.staff?.scopeLevel === 'city';
}

/**
 * Returns the signed-in staff member, asking GET /me only while that is
 * unknown. Returns null when no one is signed in, and rethrows any other
 * failure.
 */
export async function loadStaff() {
  if (state.staffChecked) return state.staff;
  try {
    setStaff(await fetchMe());
  } catch (error) {
    if (error.status !== 401) throw error;
    clearStaff();
  }
  return state.staff;
}

let districtsRequest = null;

/**
 * Loads the districts once, sharing one request among concurrent callers. A
 * failed request is tried again on the next call. The sign-in options are
 * the only district list the back office serves so far, and they need no
 * session.
 */
export function loadDistricts() {
  districtsRequest ??= fetchSignInOptions().then(
    (options) => {
      state.districts = options.districts || [];
      return state.districts;
    },
    (error) => {
      districtsRequest = null;
      throw error;
    },
  );
  return districtsRequest;
}
