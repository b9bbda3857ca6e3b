import { createApp } from 'vue';
import { ElMessage } from 'element-plus';
import App from './App.vue';
import { setUnauthorisedHandler } from './api/client.js';
import { router } from './router.js';
import { clearStaff } from './session.js';
import { installElementPlus } from './shared/element.js';

// A 401 on any call means the session expired. The handler shows the back
// office's message and opens the sign-in page, which returns here afterwards.
setUnauthorisedHandler((error) => {
  clearStaff();
  const current = router.currentRoute.value;
  if (current.meta.public) return;
  ElMessage.warning({ message: error.message, grouping: true });
  router.push({ name: 'sign-in', query: { redirect: current.fullPath } });
});

const app = createApp(App);
installElementPlus(app);
app.use(router);
app.mount('#app');
