import { createApp } from 'vue';
import App from './App.vue';
import { loadSession } from './session.js';
import { trackPageViews } from './visits.js';
import './styles.css';

createApp(App).mount('#app');
loadSession();
trackPageViews();
