// The kindergarten matching module (园所匹配): a district's matching rules
// and their validation over the year's registration addresses.
import { Location } from '@element-plus/icons-vue';
import { matchingStrings as strings } from './strings.js';

export default {
  publicRoutes: [],
  routes: [
    {
      path: 'matching/rules',
      name: 'matching-rules',
      component: () => import('./RuleList.vue'),
      meta: { title: strings.rulesTitle, permission: 'enrolment.read' },
    },
    {
      path: 'matching/validation',
      name: 'matching-validation',
      component: () => import('./ValidationPage.vue'),
      meta: { title: strings.validationTitle, permission: 'enrolment.read' },
    },
  ],
  menu: {
    key: 'matching',
    title: strings.menuTitle,
    icon: Location,
    items: [
      { path: '/matching/rules', title: strings.rulesTitle, permission: 'enrolment.read', levels: ['city', 'district'] },
      { path: '/matching/validation', title: strings.validationTitle, permission: 'enrolment.read', levels: ['city', 'district'] },
    ],
  },
};
