import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The API server in development. Only a URL: the bundle never carries credentials or VITE_ secrets.
const api = process.env.PARLEY_API_URL ?? 'http://localhost:3000';

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      '/api': { target: api },
      '/healthz': { target: api },
      '/socket.io': { target: api, ws: true },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
  },
});
