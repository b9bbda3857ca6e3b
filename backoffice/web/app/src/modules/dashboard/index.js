// The dashboard module (数据监测面板): enrolment and development panels,
// the system state, the query and report pages, and the alerts.
import { DataAnalysis } from '@element-plus/icons-vue';
import { certificateStrings } from './certificateStrings.js';
import { dashboardStrings as strings } from './strings.js';

export default {
  publicRoutes: [],
  routes: [
    { path: 'dashboard/enrolment', name: 'dashboard-enrolment', component: () => import('./EnrolmentPage.vue'), meta: { title: strings.enrolmentTitle, permission: 'dashboard.read' } },
    { path: 'dashboard/certificates', name: 'dashboard-certificates', component: () => import('./CertificatesPage.vue'), meta: { title: certificateStrings.title, permission: 'dashboard.read' } },
    { path: 'dashboard/development', name: 'dashboard-development', component: () => import('./DevelopmentPage.vue'), meta: { title: strings.developmentTitle, permission: 'dashboard.read' } },
    { path: 'dashboard/reports', name: 'dashboard-reports', component: () => import('./ReportPage.vue'), meta: { title: strings.reportsTitle, permission: 'dashboard.read' } },
    { path: 'dashboard/system', name: 'dashboard-system', component: () => import('./SystemStatePage.vue'), meta: { title: strings.systemTitle, permission: 'dashboard.read' } },
    { path: 'dashboard/alerts', name: 'dashboard-alerts', component: () => import('./AlertsPage.vue'), meta: { title: strings.alertsTitle, permission: 'dashboard.read' } },
  ],
  menu: {
    key: 'dashboard',
    title: strings.menuTitle,
    icon: DataAnalysis,
    items: [
      { path: '/dashboard/enrolment', title: strings.enrolmentTitle, permission: 'dashboard.read' },
      { path: '/dashboard/certificates', title: certificateStrings.title, permission: 'dashboard.read' },
      { path: '/dashboard/development', title: strings.developmentTitle, permission: 'dashboard.read' },
      { path: '/dashboard/reports', title: strings.reportsTitle, permission: 'dashboard.read' },
      { path: '/dashboard/system', title: strings.systemTitle, permission: 'dashboard.read' },
      { path: '/dashboard/alerts', title: strings.alertsTitle, permission: 'dashboard.read' },
      { path: '/cockpit', title: strings.cockpitTitle, permission: 'dashboard.read' },
    ],
  },
};
