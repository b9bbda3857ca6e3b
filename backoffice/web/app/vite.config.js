import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

// The build goes to ../dist, which the back-office binary embeds (see
// ../web.go). public/.keep is copied there so the tracked placeholder
// survives emptyOutDir.
export default defineConfig({
  plugins: [vue()],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  build: {
    outDir: '../dist',
    emptyOutDir: true,
    rolldownOptions: {
      output: {
        // Vue and Element Plus change less often than the app, so browsers
        // keep their chunk across app releases.
        codeSplitting: { groups: [{ name: 'vendor', test: /node_modules/ }] },
      },
    },
  },
  server: {
    proxy: {
      // `make run` starts the back office on this address. The proxy keeps the
      // browser's Host header, because the back office rejects a POST whose
      // Origin differs from its Host.
      '/api': { target: 'http://127.0.0.1:8081', changeOrigin: false },
    },
  },
});
