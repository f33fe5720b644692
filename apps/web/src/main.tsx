import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { parseWithoutEval } from '@parley/protocol';
import { App } from './app/App.tsx';
import { registerServiceWorker } from './features/push/pushClient.ts';
import './styles.css';

// Before any schema parses: the CSP has no 'unsafe-eval'.
parseWithoutEval();

registerServiceWorker();

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');

createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
