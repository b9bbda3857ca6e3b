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

// A form page's guard: called with the path the parent is leaving for, it
// returns false to stay (and prompts for feedback instead).
let leaveGuard = null;

/** Sets the guard consulted before leaving the current page; null removes it. */
export function setLeaveGuard(guard) {
  leaveGuard = guard;
}

/**
 * Goes to path. state travels with the history entry, so a receipt page can
 * show the submission's receipt at once and still have it after a reload.
 * force skips the leave guard.
 */
export function navigate(path, { replace = false, state = null, force = false } = {}) {
  if (!force && leaveGuard && path !== route.value.path && !leaveGuard(path)) return;
  if (replace) history.replaceState(state, '', path);
  else history.pushState(state, '', path);
  route.value = { ...match(path), state };
  window.scrollTo(0, 0);
}

// The back button has already changed the URL when popstate fires, so a
// guard that keeps the parent on the page puts the page's URL back.
window.addEventListener('popstate', () => {
  const target = location.pathname;
  if (leaveGuard && target !== route.value.path && !leaveGuard(target)) {
    history.pushState(route.value.state, '', route.value.path);
    return;
  }
  route.value = { ...match(target), state: history.state };
});

/** Handles a link's click: navigates in the app unless a modifier key requests a new tab or window. */
export function followLink(event, path) {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
    return;
  }
  event.preventDefault();
  navigate(path);
}
