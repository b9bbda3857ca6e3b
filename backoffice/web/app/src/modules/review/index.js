// The review module (审核与通知): returning applications, the two-step
// deletion, SMS templates and outbox, the registration and application
// switches, the district's 补报名 (supplementary application) and the
// parents' 办不成事 feedback. Its pages import the Element Plus components that
// shared/element.js does not register (dialog, date picker, tabs, switch,
// number input) themselves.
import { Bell } from '@element-plus/icons-vue';
import { reviewStrings as strings } from './strings.js';

export default {
  publicRoutes: [],
  routes: [
    { path: 'review/returns', name: 'review-returns', component: () => import('./ReturnsPage.vue'), meta: { title: strings.returnsTitle, permission: 'enrolment.read' } },
    { path: 'review/deletions', name: 'review-deletions', component: () => import('./DeletionsPage.vue'), meta: { title: strings.deletionsTitle, permission: 'enrolment.read' } },
    { path: 'review/sms', name: 'review-sms', component: () => import('./SmsPage.vue'), meta: { title: strings.smsTitle, permission: 'enrolment.read' } },
    { path: 'review/windows', name: 'review-windows', component: () => import('./WindowsPage.vue'), meta: { title: strings.windowsTitle, permission: 'enrolment.read' } },
    { path: 'review/supplement', name: 'review-supplement', component: () => import('./SupplementPage.vue'), meta: { title: strings.supplementTitle, permission: 'enrolment.write' } },
    { path: 'review/feedback', name: 'review-feedback', component: () => import('./FeedbackPage.vue'), meta: { title: strings.feedbackTitle, permission: 'dashboard.read' } },
  ],
  menu: {
    key: 'review',
    title: strings.menuTitle,
    icon: Bell,
    items: [
      { path: '/review/returns', title: strings.returnsTitle, permission: 'enrolment.read' },
      { path: '/review/deletions', title: strings.deletionsTitle, permission: 'enrolment.read', levels: ['city', 'district'] },
      { path: '/review/sms', title: strings.smsTitle, permission: 'enrolment.read', levels: ['city', 'district'] },
      { path: '/review/windows', title: strings.windowsTitle, permission: 'enrolment.read' },
      { path: '/review/supplement', title: strings.supplementTitle, permission: 'enrolment.write' },
      { path: '/review/feedback', title: strings.feedbackTitle, permission: 'dashboard.read' },
    ],
  },
};
