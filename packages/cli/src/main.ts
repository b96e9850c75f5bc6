/**
 * The CLI without the process: parse, run the command, turn errors into a message on stderr and an
 * exit code (0 done, 1 runtime error, 2 wrong command line). `bin.ts` binds it to the process.
 */
import { createRequire } from 'node:module';
import { DEMO_USAGE, parseCommandLine, USAGE, WATCH_USAGE } from './args.js';
import { demoCommand } from './commands/demo.js';
import { watchCommand } from './commands/watch.js';
import { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, explainError, UsageError } from './errors.js';
import type { CliIo } from './io.js';

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let namespace: string | undefined;
  try {
    const command = parseCommandLine(argv);
    switch (command.command) {
      case 'help':
        io.stdout.write(
          `${command.topic === 'demo' ? DEMO_USAGE : command.topic === 'watch' ? WATCH_USAGE : USAGE}\n`,
        );
        return EXIT_OK;
      case 'version':
        io.stdout.write(`${version()}\n`);
        return EXIT_OK;
      case 'demo':
        await demoCommand(command.options, io);
        return EXIT_OK;
      case 'watch':
        namespace = command.options.namespace;
        await watchCommand(command.options, io);
        return EXIT_OK;
    }
  } catch (error) {
    const { message, hint } = explainError(error, namespace === undefined ? {} : { namespace });
    io.stderr.write(`endpoint-watch: ${error instanceof UsageError ? '' : 'error: '}${message}\n`);
    if (hint) io.stderr.write(`${hint}\n`);
    return error instanceof UsageError ? EXIT_USAGE : EXIT_RUNTIME;
  }
}

function version(): string {
  const pkg = createRequire(import.meta.url)('../package.json') as { version: string };
  return pkg.version;
}
