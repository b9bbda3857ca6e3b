// The forms module (报名表配置): the field library, the certificate library
// and the form designer.
import { EditPen } from '@element-plus/icons-vue';
import { formsStrings as strings } from './strings.js';

export default {
  publicRoutes: [],
  routes: [
    {
      path: 'forms/fields',
      name: 'form-fields',
      component: () => import('./FieldLibrary.vue'),
      meta: { title: strings.fieldsTitle, permission: 'form.read' },
    },
    {
      path: 'forms/certificates',
      name: 'form-certificates',
      component: () => import('./CertificateLibrary.vue'),
      meta: { title: strings.certificatesTitle, permission: 'form.read' },
    },
    {
      path: 'forms/designer',
      name: 'form-designer',
      component: () => import('./FormDesigner.vue'),
      meta: { title: strings.designerTitle, permission: 'form.read' },
    },
  ],
  menu: {
    key: 'forms',
    title: strings.menuTitle,
    icon: EditPen,
    items: [
      { path: '/forms/designer', title: strings.designerTitle, permission: 'form.read' },
      { path: '/forms/fields', title: strings.fieldsTitle, permission: 'form.read' },
      { path: '/forms/certificates', title: strings.certificatesTitle, permission: 'form.read' },
    ],
  },
};
