import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Functions -> ops is one way and fenced: the Functions app may use the ops engine, the checks its
// uptime probe runs and the sources those read; nothing else of ops, and none of the ops engine's
// heavy clients (functions/package.test.ts checks the bundle itself). ops reads the Functions app
// only through common/ingest-protocol.ts and the database.
const PROBE_OPS_MODULES = [
  'engine/[^/]+',
  'checks/(bridge-backlog|broker-uptime|endpoints)',
  'sources/(bridge-status|http-probe|mqtt-round-trip)',
];
const functionsFence = [
  {
    regex: `^(\\.\\./)+ops/(?!(${PROBE_OPS_MODULES.join('|')})\\.js$)`,
    message: 'The Functions app may import only the ops modules its probe uses (eslint.config.js).',
  },
  {
    regex: '^(\\.\\./)+(actions|ansible|bridge|broker|runbook|supabase)/',
    message: "The Functions app imports functions/, common/ and its probe's ops modules only.",
  },
  {
    // Blob storage is the telemetry archive's data path (common/archive), not a query of Azure.
    regex: '^@azure/(?!(functions|storage-blob)$)',
    message:
      'No Azure SDK in the Functions bundle but Blob storage: the ops engine queries Azure, the app does not.',
  },
  { regex: '^(@actions|@octokit)/', message: 'No GitHub toolkit in the Functions bundle: use fetch.' },
  { group: ['ssh2'], message: 'No SSH client in the Functions bundle.' },
];

// The house fence: production code never imports test, sandbox or bench code. Production is what
// is deployed or run against real environments: the custom actions' sources, the bridge, the
// broker's configuration, common/, the Functions app, the ops engine and runbook/, tests apart.
// Test harness (Mosquitto runner, test CA, stand-ins, fixtures, free ports) lives in test/support/,
// which tests, the sandbox and the benches (scripts/) import. test/house/import-fence.test.ts.
const PRODUCTION = [
  'actions/*/src/**/*.ts',
  'bridge/**/*.ts',
  'broker/**/*.ts',
  'common/**/*.ts',
  'functions/**/*.ts',
  'ops/**/*.ts',
  'runbook/**/*.ts',
];
const TESTS = ['**/*.test.ts'];
const NOT_TEST_OR_SCRIPTS = '(?!\\.{1,2}/(?:.*/)?(?:test|scripts)/)';
const TEST_MODULE_NAME =
  '[^/]*\\.test(?:\\.[cm]?[jt]s)?|test-[^/]*|[^/]*-test-[^/]*|[^/]*(?:fixture|harness|standin)[^/]*';
const productionFence = [
  {
    regex: '^\\.{1,2}/(?:.*/)?(?:test|scripts)/',
    message:
      'Production code may not import test/ or scripts/ (tests, sandbox, benches): it is not deployed (eslint.config.js).',
  },
  {
    regex: `^${NOT_TEST_OR_SCRIPTS}\\.{1,2}/(?:.*/)?(?:${TEST_MODULE_NAME})$`,
    message:
      'Production code may not import a test file, fixture, harness or stand-in: those live in test/support/.',
  },
];
// no-restricted-imports does not see import(): the same fence for dynamic imports (esquery regexes
// cannot contain '/', hence \x2F).
const dynamicImportFence = {
  selector: `ImportExpression > Literal.source[value=/^\\.\\.?\\x2F(.*\\x2F)?(test|scripts)\\x2F/]`,
  message:
    'Production code may not import test/ or scripts/ (tests, sandbox, benches), not even with import().',
};
// ops never reaches the Functions app, its tests included.
const opsFence = [
  {
    regex: '^(\\.\\./)+functions/',
    message: 'ops must not import the Functions app: shared types live in common/.',
  },
];
// The dashboard runs in tenants' browsers: it holds only the anon key and reaches data only through
// supabase-js. No Node built-ins, no database driver, nothing of test/ or scripts/.
const dashboardFence = [
  ...productionFence,
  { regex: '^node:', message: 'The dashboard runs in the browser: no Node built-ins.' },
  {
    group: ['pg', 'pg-*', 'jose', 'ssh2', '@azure/*', '@actions/*'],
    message: 'The dashboard reads only through supabase-js as the signed-in user (docs/dashboard.md).',
  },
];
// Flat config: a later block's options for a rule replace an earlier block's for the files both
// match, so each block below lists every pattern that applies to its files.
const fence = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

export default tseslint.config(
  { ignores: ['node_modules/', '**/dist/', '.ops/', 'reports/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: PRODUCTION,
    ignores: TESTS,
    rules: { ...fence(productionFence), 'no-restricted-syntax': ['error', dynamicImportFence] },
  },
  // Functions tests are not deployed: they use test/support and the services' stand-ins.
  { files: ['functions/**/*.ts'], ignores: TESTS, rules: fence([...functionsFence, ...productionFence]) },
  { files: ['ops/**/*.test.ts'], rules: fence(opsFence) },
  { files: ['ops/**/*.ts'], ignores: TESTS, rules: fence([...opsFence, ...productionFence]) },
  {
    files: ['dashboard/src/**/*.{ts,tsx}'],
    ignores: TESTS,
    languageOptions: { globals: globals.browser },
    rules: { ...fence(dashboardFence), 'no-restricted-syntax': ['error', dynamicImportFence] },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { module: 'writable', require: 'readonly', process: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
