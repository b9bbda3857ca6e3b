// 办不成事 (could-not-get-it-done) feedback on the form pages. A form page
// calls useFeedbackPrompt(); the prompt (FeedbackDialog in App.vue) then
// opens when the page has had no input for the edge's idle timeout, or
// when the parent leaves the unfinished form through a link in the app or
// the browser's back button. Closing or reloading the tab makes the
// browser show its own question first, and the prompt opens if the parent
// stays.
import { onBeforeUnmount, onMounted, reactive } from 'vue';
import { api } from './api.js';
import { navigate, route, setLeaveGuard } from './router.js';

/** The prompt's state, read by FeedbackDialog. */
export const feedbackPrompt = reactive({
  open: false,
  // 'idle', 'leave' or 'manual', as the edge expects.
  trigger: '',
  page: '',
  step: '',
  districtCode: '',
  // The path the parent was leaving for, offered as 继续离开.
  leavingTo: '',
});

let settingsLoad = null;
/** Returns the edge's { categories, idleTimeoutSeconds }, loaded once. */
export function feedbackSettings() {
  if (!settingsLoad) {
    settingsLoad = api.feedbackSettings();
    settingsLoad.catch(() => { settingsLoad = null; });
  }
  return settingsLoad;
}

// The step is the title of the form section the parent last worked in,
// else the page's heading.
let lastSection = '';
function currentStep() {
  if (lastSection) return lastSection;
  return (document.querySelector('main h1')?.textContent.trim() || '').slice(0, 50);
}

function noteSection(event) {
  const legend = event.target?.closest?.('[data-section]')?.querySelector('legend');
  if (legend) lastSection = legend.textContent.trim().slice(0, 50);
}

/** Opens the prompt for trigger, recording where the parent is. */
export function openFeedback(trigger, { districtCode = '', leavingTo = '' } = {}) {
  Object.assign(feedbackPrompt, {
    open: true, trigger, page: route.value.path.slice(0, 100), step: currentStep(), districtCode, leavingTo,
  });
}

/** Closes the prompt; with leave, goes on to the path the parent was leaving for. */
export function closeFeedback({ leave = false } = {}) {
  const target = feedbackPrompt.leavingTo;
  feedbackPrompt.open = false;
  feedbackPrompt.leavingTo = '';
  if (leave && target) navigate(target, { force: true });
}

/**
 * Installs the prompt on a form page. districtCode returns the district
 * the parent chose so far ('' when none), unfinished whether leaving now
 * would lose an unsubmitted form. A path under /receipt/ is where a
 * successful submission goes, so leaving for it never prompts.
 */
export function useFeedbackPrompt({ districtCode = () => '', unfinished = () => true } = {}) {
  let timer = 0;
  let idleMillis = 0;
  let idlePrompted = false;

  function restartTimer() {
    clearTimeout(timer);
    if (!idleMillis || idlePrompted) return;
    timer = setTimeout(() => {
      if (feedbackPrompt.open) return;
      idlePrompted = true;
      openFeedback('idle', { districtCode: districtCode() });
    }, idleMillis);
  }

  function onActivity(event) {
    noteSection(event);
    restartTimer();
  }

  // A click on a sign-in link leaves on purpose, and the draft survives it.
  let signingIn = false;
  function onClick(event) {
    signingIn = Boolean(event.target?.closest?.('a[href^="/auth/"]'));
  }

  // The browser shows its own question. When the parent chooses to stay,
  // the page is still alive a moment later and the prompt opens.
  function onBeforeUnload(event) {
    if (signingIn || !unfinished() || feedbackPrompt.open) return;
    event.preventDefault();
    event.returnValue = '';
    setTimeout(() => openFeedback('leave', { districtCode: districtCode() }), 500);
  }

  onMounted(async () => {
    lastSection = '';
    for (const name of ['input', 'keydown', 'pointerdown', 'focusin']) window.addEventListener(name, onActivity, true);
    window.addEventListener('beforeunload', onBeforeUnload);
    window.addEventListener('click', onClick, true);
    setLeaveGuard((to) => {
      if (!unfinished() || to.startsWith('/receipt/') || feedbackPrompt.open) return true;
      openFeedback('leave', { districtCode: districtCode(), leavingTo: to });
      return false;
    });
    try {
      idleMillis = (await feedbackSettings()).idleTimeoutSeconds * 1000;
    } catch {
      idleMillis = 0; // without settings the page works on, with no idle prompt
    }
    restartTimer();
  });

  onBeforeUnmount(() => {
    clearTimeout(timer);
    for (const name of ['input', 'keydown', 'pointerdown', 'focusin']) window.removeEventListener(name, onActivity, true);
    window.removeEventListener('beforeunload', onBeforeUnload);
    window.removeEventListener('click', onClick, true);
    setLeaveGuard(null);
  });
}
