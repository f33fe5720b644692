import { z } from 'zod';

// Imported for its effect, first thing in every browser entry (the page and the service worker),
// before any schema exists. zod decides at each object schema's construction whether it may
// generate code, and probes with `new Function("")` unless `jitless` is already set; under the
// server's Content-Security-Policy (script-src 'self', no 'unsafe-eval') that probe is a reported
// violation even though zod swallows the error. The server keeps zod's code generation.
z.config({ jitless: true });
