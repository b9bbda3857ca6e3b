// Page-view beacon for the system state panel's visit figures. Each page
// shown sends its stage once. The edge counts it by device class from the
// User-Agent. It counts unique visitors by the signed-in parent, or before
// sign-in by a random visitor ID kept in localStorage. No cookie is set.
import { watch } from 'vue';
import { route } from './router.js';

const storageKey = 'preschool.visitorId';

// The home page opens the registration. A receipt page of a registration
// number (12 digits) is part of the registration stage. A receipt page of an
// application number (14 digits) is where parents look up the admission.
const stageOfRoute = { home: 'registration', register: 'registration', apply: 'application', receipt: 'admission' };

function stageOf(current) {
  if (current.name === 'receipt' && String(current.params?.number || '').length === 12) return 'registration';
  return stageOfRoute[current.name];
}

// Returns this browser's visitor ID, creating it on the first visit, or ''
// when storage is blocked.
function visitorId() {
  try {
    let id = localStorage.getItem(storageKey);
    if (!id || !/^[0-9a-f]{32}$/.test(id)) {
      const bytes = crypto.getRandomValues(new Uint8Array(16));
      id = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
      localStorage.setItem(storageKey, id);
    }
    return id;
  } catch {
    return '';
  }
}

function countPageView(current) {
  const stage = stageOf(current);
  if (!stage) return;
  const headers = { 'Content-Type': 'application/json' };
  const id = visitorId();
  if (id) headers['X-Visitor-ID'] = id;
  // Nothing waits for the response, and a lost count is not worth an error.
  fetch('/api/v1/page-views', {
    method: 'POST', headers, body: JSON.stringify({ stage }), credentials: 'same-origin', keepalive: true,
  }).catch(() => {});
}

/** Sends a page view for the current page and for each page shown after it. */
export function trackPageViews() {
  watch(() => route.value.path, () => countPageView(route.value), { immediate: true });
}
