import { resolve } from 'node:path';
import { defineConfig } from 'vite';

const root = resolve(import.meta.dirname, 'src/dashboard');

/**
 * Builds the dashboard (src/dashboard) into dist/dashboard, which the server serves: the
 * dashboard at `/` (index.html) and the watch page of watch links at `/watch` (watch.html).
 */
export default defineConfig({
  root,
  // Relative asset URLs: the page works wherever index.html is served from.
  base: './',
  build: {
    outDir: resolve(import.meta.dirname, 'dist/dashboard'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    rolldownOptions: {
      input: { index: resolve(root, 'index.html'), watch: resolve(root, 'watch.html') },
    },
  },
});
