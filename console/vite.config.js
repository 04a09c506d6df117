// The web console's build (`npm run build:console`): React with Vite, into dist/console/, which the
// broker's HTTP listener serves at `/` (src/http/console.ts). Everything is bundled: no CDN, no
// web fonts, it works offline.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [react()],
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 1000,
    // One small bundle; a sourcemap is not shipped.
    sourcemap: false,
  },
  server: {
    // `npx vite console` during development: the API of a local broker on :8080.
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
});
