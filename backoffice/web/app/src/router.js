import { createRouter, createWebHistory } from 'vue-router';
import AdminLayout from '@/layout/AdminLayout.vue';
import { modules } from '@/modules/index.js';
import { landingPath } from '@/menus.js';
import { appStrings } from '@/shared/strings.js';
import { showError } from '@/shared/notify.js';
import { can, loadStaff } from '@/session.js';

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
        // The guard below sends "/" on to the role's landing page.
        { path: '', name: 'home', component: () => import('@/layout/NotFoundPage.vue') },
        ...modules.flatMap((module) => module.routes),
        { path: 'no-access', name: 'no-access', component: () => import('@/layout/ForbiddenPage.vue'), meta: { title: appStrings.forbiddenTitle } },
        { path: ':unknown(.*)*', name: 'not-found', component: () => import('@/layout/NotFoundPage.vue'), meta: { title: appStrings.notFoundTitle } },
      ],
    },
  ],
});

function signInRoute(to) {
  return to.fullPath === '/' ? { name: 'sign-in' } : { name: 'sign-in', query: { redirect: to.fullPath } };
}

// Pages need a signed-in staff member unless meta.public is set. The
// sign-in page (meta.guestOnly) sends a staff member who is already signed
// in on to the app. A session whose password must change reaches only the
// password change page, as the back office allows nothing else, and a page
// whose meta.permission the role lacks is replaced by the no-access page.
router.beforeEach(async (to) => {
  if (to.meta.public && !to.meta.guestOnly) return true;
  let staff = null;
  try {
    staff = await loadStaff();
  } catch (error) {
    showError(error);
  }
  if (to.meta.guestOnly) return staff ? landingPath() : true;
  if (!staff) return signInRoute(to);
  if (staff.mustChangePassword) {
    return to.name === 'change-password' ? true : { name: 'change-password', query: { redirect: to.fullPath } };
  }
  if (to.name === 'home') return landingPath();
  if (to.meta.permission && !can(to.meta.permission)) return { name: 'no-access', query: { from: to.fullPath } };
  return true;
});

router.afterEach((to) => {
  const appTitle = `${appStrings.systemName} · ${appStrings.appName}`;
  document.title = to.meta.title ? `${to.meta.title} - ${appTitle}` : appTitle;
});
