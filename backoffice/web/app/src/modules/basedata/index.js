// The reference data module (基础数据): the organisation tree and the
// dictionaries with their district overrides.
import { Files } from '@element-plus/icons-vue';
import { basedataStrings as strings } from './strings.js';

export default {
  publicRoutes: [],
  routes: [
    {
      path: 'basedata/org',
      name: 'org-tree',
      component: () => import('./OrgTreePage.vue'),
      meta: { title: strings.orgTitle, permission: 'org.read' },
    },
    {
      path: 'basedata/dictionaries',
      name: 'dictionaries',
      component: () => import('./DictionaryPage.vue'),
      meta: { title: strings.dictionaryTitle, permission: 'dictionary.read' },
    },
  ],
  menu: {
    key: 'basedata',
    title: strings.menuTitle,
    icon: Files,
    items: [
      { path: '/basedata/org', title: strings.orgTitle, permission: 'org.read' },
      { path: '/basedata/dictionaries', title: strings.dictionaryTitle, permission: 'dictionary.read' },
    ],
  },
};
