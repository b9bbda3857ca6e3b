// Drafts of unfinished forms in sessionStorage: they survive a reload and
// the round trip through sign-in, and go when the tab is closed, so a shared
// phone does not keep a child's details.
//
// Every draft in the tab belongs to one account, named by the owner marker
// stored beside the drafts. The marker is the signed-in name from
// GET /api/v1/me, because that response contains nothing else that
// distinguishes accounts. A tab whose next sign-in shows another name drops every
// draft, and signing out drops them all. A draft typed before any sign-in
// has the anonymous marker '' and goes to the first account that signs in.
//
// NOTE: two accounts with the same display name look alike to the marker.
// Signing out always clears the drafts, so only a session that expired
// without 退出登录, followed by a same-named account in the same tab, keeps
// the earlier family's draft.

const prefix = 'ps.';
const ownerKey = 'ps.draftOwner';

// The account whose drafts this page may read and write: its name, '' before
// any sign-in, or null after 退出登录 until the next session check.
let account = '';

function readOwner() {
  try {
    return sessionStorage.getItem(ownerKey);
  } catch {
    return null;
  }
}

function writeOwner(owner) {
  try {
    sessionStorage.setItem(ownerKey, owner);
  } catch {
    // Without storage there are no drafts to protect.
  }
}

// Returns whether the stored drafts belong to the current account. An expired
// session keeps its account, so the drafts wait for the same sign-in.
function draftsUsable() {
  if (account === null) return false;
  const owner = readOwner();
  return owner === null || owner === account;
}

/**
 * Removes every draft of the parents' pages from sessionStorage, and the
 * keys under "ps." that earlier versions kept in localStorage (each
 * registration's districts), together with the owner marker.
 */
export function clearAllDrafts() {
  for (const storage of [globalThis.sessionStorage, globalThis.localStorage]) {
    try {
      const keys = [];
      for (let i = 0; i < storage.length; i++) {
        const key = storage.key(i);
        if (key?.startsWith(prefix)) keys.push(key);
      }
      keys.forEach((key) => storage.removeItem(key));
    } catch {
      // A storage that cannot be read contains no drafts of these pages.
    }
  }
}

/**
 * Hands the tab's drafts to the account that GET /api/v1/me reports: its
 * name when signed in, or null when signed out. Drafts of another account,
 * and drafts without an owner marker (kept by an earlier version of the
 * pages), are removed.
 */
export function claimDrafts(signedInName) {
  if (signedInName === null) {
    // A signed-out page keeps the drafts for their owner's next sign-in, but
    // neither shows nor overwrites them.
    const owner = readOwner();
    account = owner === null || owner === '' ? '' : null;
    return;
  }
  const owner = readOwner();
  if (owner !== '' && owner !== signedInName) clearAllDrafts();
  account = signedInName;
  writeOwner(signedInName);
}

/** Removes every draft after 退出登录. The page saves no draft until the next session check. */
export function forgetDrafts() {
  clearAllDrafts();
  account = null;
}

function read(key) {
  try {
    const text = sessionStorage.getItem(key);
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** Returns the draft stored under key if it was saved for version by the current account, else null. */
export function loadDraft(key, version) {
  if (!draftsUsable()) return null;
  const draft = read(key);
  return draft && draft.version === version ? draft.value : null;
}

/** Stores value under key for the current account. A full or disabled storage only loses the draft. */
export function saveDraft(key, version, value) {
  if (!draftsUsable()) return;
  try {
    if (readOwner() === null) writeOwner(account);
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
