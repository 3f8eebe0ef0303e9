/**
 * The web app's build: `vite build web` (npm run build) writes dist/web/, which the hub serves
 * (hub/api/web.ts). In development, `npx vite web` serves the pages with hot reload and sends
 * /api, /healthz and /metrics to a hub on WANJI_HUB (default http://127.0.0.1:8080).
 */
import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

const hub = process.env.WANJI_HUB ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [vue()],
  define: {
    // vue-i18n: messages are plain objects compiled at build time; no runtime compiler, no eval
    // (the hub's Content-Security-Policy allows scripts from the hub's own files only).
    __VUE_I18N_FULL_INSTALL__: false,
    __VUE_I18N_LEGACY_API__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
    __VUE_OPTIONS_API__: false,
    __VUE_PROD_DEVTOOLS__: false,
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: false,
  },
  resolve: {
    alias: { 'vue-i18n': 'vue-i18n/dist/vue-i18n.runtime.esm-bundler.js' },
  },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: { '/api': hub, '/healthz': hub, '/metrics': hub },
  },
});
