// The sign-in module: the sign-in page, which is public, and the password
// change page, which needs a session. Both are outside the admin layout.
import { signInStrings as strings } from './strings.js';

export default {
  publicRoutes: [
    {
      path: '/sign-in',
      name: 'sign-in',
      component: () => import('./SignInPage.vue'),
      meta: { public: true, guestOnly: true },
    },
    {
      path: '/change-password',
      name: 'change-password',
      component: () => import('./ChangePasswordPage.vue'),
      meta: { title: strings.changePasswordTitle },
    },
  ],
  routes: [],
  menu: null,
};
