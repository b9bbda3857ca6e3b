// The attendance module (来离园监测): attendance and morning checks, trends
// and reasons, arrival times, and the report with the bulk import.
import { DataLine } from '@element-plus/icons-vue';
import { attendanceStrings as strings } from './strings.js';

export default {
  publicRoutes: [],
  routes: [
    { path: 'attendance/overview', name: 'attendance-overview', component: () => import('./AttendanceOverview.vue'), meta: { title: strings.overviewTitle, permission: 'dashboard.read' } },
    { path: 'attendance/trends', name: 'attendance-trends', component: () => import('./AttendanceTrends.vue'), meta: { title: strings.trendsTitle, permission: 'dashboard.read' } },
    { path: 'attendance/arrivals', name: 'attendance-arrivals', component: () => import('./ArrivalTimes.vue'), meta: { title: strings.arrivalsTitle, permission: 'dashboard.read' } },
    { path: 'attendance/report', name: 'attendance-report', component: () => import('./AttendanceReport.vue'), meta: { title: strings.reportTitle, permission: 'dashboard.read' } },
  ],
  menu: {
    key: 'attendance',
    title: strings.menuTitle,
    icon: DataLine,
    items: [
      { path: '/attendance/overview', title: strings.overviewTitle, permission: 'dashboard.read' },
      { path: '/attendance/trends', title: strings.trendsTitle, permission: 'dashboard.read' },
      { path: '/attendance/arrivals', title: strings.arrivalsTitle, permission: 'dashboard.read' },
      { path: '/attendance/report', title: strings.reportTitle, permission: 'dashboard.read' },
    ],
  },
};
