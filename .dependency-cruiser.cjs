// The layer rules of src/ (ARCHITECTURE.md, "Layers"), checked by `npm run lint:deps`.
//
//   common/, config/        leaves: import nothing of ours (config may use common)
//   protocol/               the wire format: imports nothing of ours
//   network/                protocol, common
//   keystores/              config, common (Kafka's JKS/PKCS12/PEM key and trust stores, for
//                           the broker and the CLI's client properties)
//   storage/, coordinator/, cluster/
//                           protocol, network, config, common; never each other
//   broker/                 everything above, and client/ for broker-to-broker requests
//                           (cluster mode: WriteTxnMarkers to other leaders)
//   http/                   broker and everything below it but client/ (started by cli/ and
//                           src/index.ts only)
//   cli/, bench/, src/index.ts
//                           anything (they are the entry points)
//   client/                 protocol only
//
// Each rule names what a folder may NOT import: the allowed graph is what is left.

/** The folders below `layer` that it may import; everything else of ours is forbidden. */
const allowed = {
  common: [],
  config: ['common'],
  protocol: [],
  network: ['protocol', 'common'],
  // Kafka's key and trust stores as node:tls options; the broker and the CLI read them, and the
  // client library only ever gets the result, so it needs no file or store code.
  keystores: ['config', 'common'],
  storage: ['protocol', 'network', 'config', 'common'],
  coordinator: ['protocol', 'network', 'config', 'common'],
  cluster: ['protocol', 'network', 'config', 'common'],
  broker: ['protocol', 'network', 'storage', 'coordinator', 'cluster', 'keystores', 'config', 'common', 'client'],
  client: ['protocol'],
  // The HTTP listener (metrics, health, admin API) reads the broker and what it is made of; only
  // the entry points (cli/, src/index.ts) start it, and nothing else imports it.
  http: ['broker', 'storage', 'coordinator', 'cluster', 'keystores', 'network', 'protocol', 'config', 'common'],
};

const folders = ['common', 'config', 'keystores', 'protocol', 'network', 'storage', 'coordinator', 'cluster', 'broker', 'client', 'http', 'cli', 'bench'];

const layerRules = Object.entries(allowed).map(([layer, may]) => {
  const forbidden = folders.filter((f) => f !== layer && !may.includes(f));
  return {
    name: `layer-${layer}`,
    comment: `src/${layer}/ may import only ${may.length ? may.map((m) => `src/${m}/`).join(', ') : 'nothing of ours'} (ARCHITECTURE.md, Layers)`,
    severity: 'error',
    from: { path: `^src/${layer}/` },
    to: { path: [`^src/(${forbidden.join('|')})/`, '^src/index\\.ts$'] },
  };
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-circular',
      comment: 'No import cycles, type-only imports included: the layers point one way.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-import-of-entry-points',
      comment: 'Nothing imports the CLI or the embedding entry point (src/index.ts) except tests.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli|bench)/' },
      to: { path: ['^src/cli/', '^src/index\\.ts$'] },
    },
    {
      name: 'http-only-from-entry-points',
      comment: 'Only the entry points (cli/, src/index.ts) start the HTTP listener; the broker never knows it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli|http)/|^src/index\\.ts$' },
      to: { path: '^src/http/' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-dev-deps-in-src',
      comment: 'src/ ships: it may not import a devDependency (types excepted).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/protocol/codegen/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.d.ts'],
    },
    reporterOptions: {
      dot: { collapsePattern: '^src/[^/]+/' },
    },
  },
};
