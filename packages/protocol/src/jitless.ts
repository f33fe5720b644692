// zod's core config, the one classic zod and zod/mini share: the service worker bundles this file
// and must not pull in classic zod with all its locales (see push-payload.ts).
import { config } from 'zod/v4/core';

// Imported for its effect, first thing in every browser entry (the page and the service worker),
// before any schema exists. zod decides at each object schema's construction whether it may
// generate code, and probes with `new Function("")` unless `jitless` is already set; under the
// server's Content-Security-Policy (script-src 'self', no 'unsafe-eval') that probe is a reported
// violation even though zod swallows the error. The server keeps zod's code generation.
config({ jitless: true });
