// The sign-in module: its page is public, outside the admin layout.
export default {
  publicRoutes: [
    {
      path: '/sign-in',
      name: 'sign-in',
      component: () => import('./SignInPage.vue'),
      meta: { public: true, guestOnly: true },
    },
  ],
  routes: [],
  menu: null,
};
