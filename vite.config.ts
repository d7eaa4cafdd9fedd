import { resolve } from 'node:path';
import { defineConfig } from 'vite';

/** Builds the dashboard (src/dashboard) into dist/dashboard, which the server serves at `/`. */
export default defineConfig({
  root: resolve(import.meta.dirname, 'src/dashboard'),
  // Relative asset URLs: the page works wherever index.html is served from.
  base: './',
  build: {
    outDir: resolve(import.meta.dirname, 'dist/dashboard'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
  },
});
