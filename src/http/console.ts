// The web console at `/`: the static files Vite builds from console/ into dist/console/ (`npm run
// build`, which `npm ci` runs), read once when the listener starts and served from memory. The app
// routes in the URL hash, so `/` (index.html) and `/assets/*` are all there is; it calls /api/v1.
// Nothing comes from elsewhere: no CDN, it works offline.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HttpRoutes } from './context.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** dist/console next to dist/http (the build), or from src/http (tsx in development and tests). */
export function consoleDir(): string | null {
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const dir of [resolve(here, '../console'), resolve(here, '../../dist/console')]) {
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return null;
}

function readTree(dir: string, prefix = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) for (const [k, v] of readTree(path, `${prefix}${entry}/`)) out.set(k, v);
    else out.set(prefix + entry, readFileSync(path));
  }
  return out;
}

export const consoleRoutes: HttpRoutes = (app, ctx) => {
  const dir = consoleDir();
  const files = dir ? readTree(dir) : new Map<string, Buffer>();
  if (!dir) ctx.logger.warn('the web console is not built (npm run build:console); / answers 404');
  const send = (name: string, reply: import('fastify').FastifyReply) => {
    const body = files.get(name);
    if (!body) return reply.status(404).send({ error: `no route for GET /${name}` });
    // Asset names carry a content hash: cached for good. index.html always revalidates.
    const cache = name.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
    return reply
      .header('content-type', TYPES[extname(name)] ?? 'application/octet-stream')
      .header('cache-control', cache)
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self'; connect-src 'self'; frame-ancestors 'none'")
      .send(body);
  };
  app.get('/', (_req, reply) => send('index.html', reply));
  app.get<{ Params: { '*': string } }>('/assets/*', (req, reply) => send(`assets/${req.params['*']}`, reply));
};
