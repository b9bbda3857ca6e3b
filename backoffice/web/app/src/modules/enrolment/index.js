// The enrolment module (入园招生): the registration and application lists.
import { Tickets } from '@element-plus/icons-vue';
import { enrolmentStrings as strings } from './strings.js';

export default {
  publicRoutes: [],
  routes: [
    {
      path: 'enrolment/registrations',
      name: 'registrations',
      component: () => import('./RegistrationList.vue'),
      meta: { title: strings.registrationsTitle, permission: 'enrolment.read' },
    },
    {
      path: 'enrolment/applications',
      name: 'applications',
      component: () => import('./ApplicationList.vue'),
      meta: { title: strings.applicationsTitle, permission: 'enrolment.read' },
    },
  ],
  menu: {
    key: 'enrolment',
    title: strings.menuTitle,
    icon: Tickets,
    items: [
      { path: '/enrolment/registrations', title: strings.registrationsTitle, permission: 'enrolment.read' },
      { path: '/enrolment/applications', title: strings.applicationsTitle, permission: 'enrolment.read' },
    ],
  },
};
