// The security audit module (安全审计): the audit trail viewer and the
// sign-in log, for roles with audit.read and login_log.read.
import { Lock } from '@element-plus/icons-vue';
import { auditStrings as strings } from './strings.js';

export default {
  publicRoutes: [],
  routes: [
    {
      path: 'audit/events',
      name: 'audit-events',
      component: () => import('./AuditLogPage.vue'),
      meta: { title: strings.auditTitle, permission: 'audit.read' },
    },
    {
      path: 'audit/login-log',
      name: 'login-log',
      component: () => import('./LoginLogPage.vue'),
      meta: { title: strings.loginLogTitle, permission: 'login_log.read' },
    },
  ],
  menu: {
    key: 'audit',
    title: strings.menuTitle,
    icon: Lock,
    items: [
      { path: '/audit/events', title: strings.auditTitle, permission: 'audit.read' },
      { path: '/audit/login-log', title: strings.loginLogTitle, permission: 'login_log.read' },
    ],
  },
};
