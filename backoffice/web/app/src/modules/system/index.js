// The accounts and permissions module (账号与权限): staff accounts and
// the roles' permissions, for the security admin.
import { User } from '@element-plus/icons-vue';
import { systemStrings as strings } from './strings.js';

export default {
  publicRoutes: [],
  routes: [
    {
      path: 'system/staff',
      name: 'staff',
      component: () => import('./StaffListPage.vue'),
      meta: { title: strings.staffTitle, permission: 'staff.read' },
    },
    {
      path: 'system/roles',
      name: 'roles',
      component: () => import('./RolePage.vue'),
      meta: { title: strings.rolesTitle, permission: 'role.read' },
    },
  ],
  menu: {
    key: 'system',
    title: strings.menuTitle,
    icon: User,
    items: [
      { path: '/system/staff', title: strings.staffTitle, permission: 'staff.read' },
      { path: '/system/roles', title: strings.rolesTitle, permission: 'role.read' },
    ],
  },
};
