// State that every page shares: the signed-in parent and the catalogue.
import { reactive } from 'vue';
import { api } from './api.js';

export const session = reactive({
  loaded: false,
  signedIn: false,
  name: '',
  catalogue: null,
  catalogueError: '',
});

/** Loads who is signed in and the catalogue. App renders no page until it has finished. */
export async function loadSession() {
  const [me, catalogue] = await Promise.allSettled([api.me(), api.catalogue()]);
  if (me.status === 'fulfilled') {
    session.signedIn = Boolean(me.value.signedIn);
    session.name = me.value.name || '';
  }
  if (catalogue.status === 'fulfilled') {
    session.catalogue = catalogue.value;
    session.catalogueError = '';
  } else {
    session.catalogueError = catalogue.reason.message;
  }
  session.loaded = true;
}

/** Marks the parent as signed out after a 401, so pages offer sign-in. */
export function markSignedOut() {
  session.signedIn = false;
  session.name = '';
}
