// State that every page shares: the signed-in parent and the catalogue.
import { reactive } from 'vue';
import { api } from './api.js';
import { claimDrafts, forgetDrafts } from './draft.js';

export const session = reactive({
  loaded: false,
  signedIn: false,
  name: '',
  catalogue: null,
  catalogueError: '',
});

/**
 * Loads who is signed in and the catalogue, and hands the tab's form drafts
 * to that account. App renders no page until it has finished.
 */
export async function loadSession() {
  const [me, catalogue] = await Promise.allSettled([api.me(), api.catalogue()]);
  if (me.status === 'fulfilled') {
    session.signedIn = Boolean(me.value.signedIn);
    session.name = me.value.name || '';
  }
  // A failed check counts as signed out: an account's drafts then stay
  // hidden until it signs in again.
  claimDrafts(session.signedIn ? session.name : null);
  if (catalogue.status === 'fulfilled') {
    session.catalogue = catalogue.value;
    session.catalogueError = '';
  } else {
    session.catalogueError = catalogue.reason.message;
  }
  session.loaded = true;
}

/**
 * Signs out at the edge and removes every form draft, even when the request
 * fails, so the next account in this tab starts with empty forms.
 */
export async function signOut() {
  try {
    await api.signOut();
  } finally {
    forgetDrafts();
    markSignedOut();
  }
}

/**
 * Marks the parent as signed out after a 401, so pages offer sign-in. The
 * drafts stay, because the same parent usually signs in again.
 */
export function markSignedOut() {
  session.signedIn = false;
  session.name = '';
}
