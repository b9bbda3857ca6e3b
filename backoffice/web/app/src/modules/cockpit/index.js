// The leader cockpit (领导驾驶舱): a full-screen page outside the layout.
// It is not public, so the router requires a signed-in staff member.
import { cockpitStrings as strings } from './strings.js';

export default {
  publicRoutes: [
    { path: '/cockpit', name: 'cockpit', component: () => import('./CockpitPage.vue'), meta: { title: strings.menuTitle, permission: 'dashboard.read' } },
  ],
  routes: [],
  menu: null,
};
