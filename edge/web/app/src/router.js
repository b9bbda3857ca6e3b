// A small history-mode router, because four pages do not need
// vue-router's weight. The edge serves index.html for every path that is
// not a file, so each route also works when loaded directly or reloaded.
import { shallowRef } from 'vue';

const routes = [
  { name: 'home', pattern: /^\/$/ },
  { name: 'register', pattern: /^\/register$/ },
  { name: 'receipt', pattern: /^\/receipt\/([0-9]{1,20})$/, params: ['number'] },
  { name: 'apply', pattern: /^\/apply\/([0-9]{1,20})$/, params: ['number'] },
];

function match(path) {
  for (const route of routes) {
    const found = route.pattern.exec(path);
    if (found) {
      const params = {};
      (route.params || []).forEach((name, i) => { params[name] = found[i + 1]; });
      return { name: route.name, path, params };
    }
  }
  return { name: 'not-found', path, params: {} };
}

/** The current route: { name, path, params, state }. state is history.state. */
export const route = shallowRef({ ...match(location.pathname), state: history.state });

/**
 * Goes to path. state travels with the history entry, so a receipt page can
 * show the submission's receipt at once and still have it after a reload.
 */
export function navigate(path, { replace = false, state = null } = {}) {
  if (replace) history.replaceState(state, '', path);
  else history.pushState(state, '', path);
  route.value = { ...match(path), state };
  window.scrollTo(0, 0);
}

window.addEventListener('popstate', () => {
  route.value = { ...match(location.pathname), state: history.state };
});

/** Handles a link's click: navigates in the app unless a modifier key requests a new tab or window. */
export function followLink(event, path) {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
    return;
  }
  event.preventDefault();
  navigate(path);
}
