// The admission module (录取管理): a district's admission rules, and the
// proposed admission list that the district admin reviews and confirms.
import { Finished } from '@element-plus/icons-vue';
import { admissionStrings as strings } from './strings.js';

export default {
  publicRoutes: [],
  routes: [
    {
      path: 'admission/rules',
      name: 'admission-rules',
      component: () => import('./RulesPage.vue'),
      meta: { title: strings.rulesTitle, permission: 'enrolment.read' },
    },
    {
      path: 'admission/proposal',
      name: 'admission-proposal',
      component: () => import('./ProposalPage.vue'),
      meta: { title: strings.proposalTitle, permission: 'enrolment.read' },
    },
  ],
  menu: {
    key: 'admission',
    title: strings.menuTitle,
    icon: Finished,
    items: [
      { path: '/admission/rules', title: strings.rulesTitle, permission: 'enrolment.read', levels: ['city', 'district'] },
      { path: '/admission/proposal', title: strings.proposalTitle, permission: 'enrolment.read', levels: ['city', 'district'] },
    ],
  },
};
