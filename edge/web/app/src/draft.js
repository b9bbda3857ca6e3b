// Drafts of unfinished forms in sessionStorage: they survive a reload and
// the round trip through sign-in, and go when the tab is closed, so a shared
// phone does not keep a child's details.

function read(key) {
  try {
    const text = sessionStorage.getItem(key);
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** Returns the draft stored under key if it was saved for version, else null. */
export function loadDraft(key, version) {
  const draft = read(key);
  return draft && draft.version === version ? draft.value : null;
}

/** Stores value under key. A full or disabled storage only loses the draft. */
export function saveDraft(key, version, value) {
  try {
    sessionStorage.setItem(key, JSON.stringify({ version, value }));
  } catch {
    // NOTE: without storage (private mode on some browsers) the form still
    // works, but a reload loses what was typed.
  }
}

export function clearDraft(key) {
  try {
    sessionStorage.removeItem(key);
  } catch {
    // Nothing was stored.
  }
}

// The registration's receipt does not include the districts, but the
// application page defaults to the residence district, so the page keeps
// them per registration number. Codes are not personal data, so they go in
// localStorage and outlive the tab.
const districtsKey = (number) => `ps.registrationDistricts.${number}`;

export function rememberDistricts(number, districts) {
  try {
    localStorage.setItem(districtsKey(number), JSON.stringify(districts));
  } catch {
    // The application page then starts with no district chosen.
  }
}

/** Returns { residence, hukou } district codes for a registration, or null. */
export function recalledDistricts(number) {
  try {
    return JSON.parse(localStorage.getItem(districtsKey(number)) || 'null');
  } catch {
    return null;
  }
}
