import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

// The edge embeds ../dist and serves index.html for every path that is not
// a file, so the app's history-mode routes survive a reload. public/.keep is
// copied into dist so that emptying it keeps the tracked placeholder.
export default defineConfig({
  plugins: [vue()],
  define: {
    // Every component uses <script setup>, so the Options API can be left out.
    __VUE_OPTIONS_API__: 'false',
    __VUE_PROD_DEVTOOLS__: 'false',
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
  },
  build: {
    outDir: '../dist',
    emptyOutDir: true,
    target: 'es2020',
  },
  server: {
    // `npm run dev` talks to an edge on its default address. Sign-in only
    // comes back here when that edge runs with EDGE_PUBLIC_URL set to this
    // server's address.
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/auth': 'http://127.0.0.1:8080',
    },
  },
});
