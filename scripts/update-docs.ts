// `npm run docs`: regenerates the README's configuration tables from src/config/registry.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { withConfigTables } from '../src/config/docs.js';

const readme = resolve(import.meta.dirname, '..', 'README.md');
writeFileSync(readme, withConfigTables(readFileSync(readme, 'utf8')));
