// Handling of a failed submission, shared by the registration and
// application pages. A field error goes next to its field, a throttled
// request starts the Retry-After countdown, a lost session offers sign-in,
// and a conflict links to the existing receipt. The form data stays as it is.
import { computed, nextTick, onBeforeUnmount, ref } from 'vue';
import { ApiError } from './api.js';
import { focusField } from './formContext.js';
import { markSignedOut } from './session.js';
import { common } from './texts.js';

/**
 * Returns the state of a form's submit area: busy, retryIn (seconds left
 * before a throttled request may be sent again) and alert, which is
 * { message, code, link: { to, text }, signIn } or null. An alert about
 * field errors goes away once the parent has corrected every one of them.
 */
export function useSubmission(form) {
  const busy = ref(false);
  const retryIn = ref(0);
  const lastAlert = ref(null);
  const alert = computed(() => {
    const current = lastAlert.value;
    if (current?.places && !current.places.some((place) => form.errors[place])) return null;
    return current;
  });
  let timer = 0;

  function stopCountdown() {
    clearInterval(timer);
    timer = 0;
  }

  function startCountdown(seconds) {
    stopCountdown();
    retryIn.value = seconds;
    timer = setInterval(() => {
      retryIn.value -= 1;
      if (retryIn.value <= 0) stopCountdown();
    }, 1000);
  }

  // A live region reads a change, so the old alert goes first: the same
  // message twice in a row is announced twice.
  async function showAlert(value, { scroll = false } = {}) {
    lastAlert.value = null;
    await nextTick();
    lastAlert.value = value;
    if (scroll) {
      await nextTick();
      document.querySelector('.form-alert-region')?.scrollIntoView({ block: 'center' });
    }
  }

  /** Shows problems found in the browser, as { path, message, code }. */
  async function showProblems(problems, summary) {
    form.clearAll();
    const places = [];
    for (const problem of problems) {
      const place = form.setError(problem.path, problem.message, problem.code);
      if (place) places.push(place);
    }
    await showAlert({ message: summary, code: 'client_check', places: places.length ? places : undefined });
    if (places.length) focusField(places[0]);
  }

  /**
   * Shows an ApiError. translate maps the edge's field path to the form's
   * path; conflict(error) returns the link for a 409. Other errors are
   * rethrown.
   */
  async function showError(error, { translate = (path) => path, conflict = null } = {}) {
    if (!(error instanceof ApiError)) throw error;
    if (error.signedOut) {
      markSignedOut();
      await showAlert({ message: common.signInExpired, code: error.code, signIn: true }, { scroll: true });
      return;
    }
    if (error.throttled) {
      startCountdown(error.retryAfter || 5);
      await showAlert({ message: error.message, code: error.code }, { scroll: true });
      return;
    }
    if (error.status === 409 && conflict) {
      await showAlert({ message: error.message, code: error.code, link: conflict(error) }, { scroll: true });
      return;
    }
    const place = error.field ? form.setError(translate(error.field), error.message, error.code) : '';
    if (place) {
      await showAlert({ message: `${common.formErrorSummary}${error.message}`, code: error.code, places: [place] });
      focusField(place);
      return;
    }
    await showAlert({ message: error.message, code: error.code }, { scroll: true });
  }

  function reset() {
    form.clearAll();
    lastAlert.value = null;
  }

  onBeforeUnmount(stopCountdown);
  return { busy, retryIn, alert, showProblems, showError, reset };
}
