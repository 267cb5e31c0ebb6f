// No import cycles in src/ (nor in test/, bench/, scripts/), checked by
// `npm run lint`. Type-only imports count: a cycle through a type is still
// two modules that cannot be read, moved or tested one without the other. (The layer rules — core imports only core,
// adapters nothing from runtime or cli — are in eslint.config.js.)
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'Break the cycle: move what both sides need into a module of its own.',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
