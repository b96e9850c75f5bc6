/** Programmatic entry points of the `endpoint-watch` CLI (the executable is `bin.js`). */
export { type Command, type DemoOptions, parseCommandLine, type WatchOptions } from './args.js';
export { demoCommand } from './commands/demo.js';
export { watchCommand } from './commands/watch.js';
export type { DemoSummary } from './demo/summary.js';
export { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, explainError, UsageError } from './errors.js';
export type { CliIo, OutputStream } from './io.js';
export { main } from './main.js';
export type { LiveView } from './view/model.js';
export { jsonSetLine, plainStatusLine, renderSummary } from './view/plain.js';
export { renderLive } from './view/render.js';
