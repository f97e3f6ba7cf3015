export { EXIT_FAILED, EXIT_OK, EXIT_USAGE, main, type CliIo } from './main.ts';
export { parseAlgorithms, runHashCommand, toLine, type HashCommandOptions, type HashLine } from './commands/hash.ts';
export { loadRuntimeConfig, type RuntimeConfig } from './runtime/config.ts';
export { openStore, ROLES, startRuntime, type Role, type Runtime, type RuntimeOverrides } from './runtime/runtime.ts';
export { localDashboardUrl } from './runtime/dashboard-url.ts';
