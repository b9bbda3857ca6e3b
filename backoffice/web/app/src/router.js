import { createRouter, createWebHistory } from 'vue-router';
import AdminLayout from '@/layout/AdminLayout.vue';
import { homePath, modules } from '@/modules/index.js';
import { appStrings } from '@/shared/strings.js';
import { showError } from '@/shared/notify.js';
import { loadStaff } from '@/session.js';

// History-mode URLs work on reload because the back office serves
// index.html for every path that is not a file.
export const router = createRouter({
  history: createWebHistory(),
  routes: [
    ...modules.flatMap((module) => module.publicRoutes),
    {
      path: '/',
      component: AdminLayout,
      children: [
        { path: '', redirect: homePath },
        ...modules.flatMap((module) => module.routes),
        { path: ':unknown(.*)*', name: 'not-found', component: () => import('@/layout/NotFoundPage.vue'), meta: { title: appStrings.notFoundTitle } },
      ],
    },
  ],
});

function signInRoute(to) {
  return to.fullPath === '/' ? { name: 'sign-in' } : { name: 'sign-in', query: { redirect: to.fullPath } };
}

// Pages inside the layout need a signed-in staff member. The sign-in page
// sends a staff member who is already signed in on to the app.
router.beforeEach(async (to) => {
  if (to.meta.public && !to.meta.guestOnly) return true;
  let staff = null;
  try {
    staff = await loadStaff();
  } catch (error) {
    showError(error);
  }
  if (to.meta.public) return staff ? homePath : true;
  return staff ? true : signInRoute(to);
});

router.afterEach((to) => {
  const appTitle = `${appStrings.systemName} · ${appStrings.appName}`;
  document.title = to.meta.title ? `${to.meta.title} - ${appTitle}` : appTitle;
});
