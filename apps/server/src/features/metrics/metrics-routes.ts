import type { FastifyPluginAsync } from 'fastify';
import { bearerMatches } from './metrics.ts';
import type { PrometheusMetrics } from './prometheus.ts';

/** GET /metrics in Prometheus text; registered only when METRICS_TOKEN is set (404 otherwise). */
export const metricsRoutes: FastifyPluginAsync<{ metrics: PrometheusMetrics; token: string }> = async (app, { metrics, token }) => {
  app.get('/metrics', async (req, reply) => {
    if (!bearerMatches(req.headers.authorization, token)) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: { code: 'unauthenticated', message: 'Send Authorization: Bearer <METRICS_TOKEN>' } });
    }
    return reply.header('content-type', metrics.registry.contentType).header('cache-control', 'no-store').send(await metrics.text());
  });
};
