/**
 * Ctrl-C handling of the executable: the first SIGINT (or SIGTERM) asks the command to stop cleanly
 * (summary printed, servers closed); a second one exits at once, for a shutdown that hangs.
 */

/** The part of `process` this needs (tests pass a fake). */
export interface SignalProcess {
  on(event: 'SIGINT' | 'SIGTERM', listener: (signal: NodeJS.Signals) => void): unknown;
  off(event: 'SIGINT' | 'SIGTERM', listener: (signal: NodeJS.Signals) => void): unknown;
  exit(code: number): void;
  readonly stderr: { write(chunk: string): unknown };
}

/** Exit code after a second signal: 128 + SIGINT, as shells report an interrupted program. */
export const EXIT_INTERRUPTED = 130;

/** Installs the handlers; returns the signal the command watches and a function removing them. */
export function stopOnSignals(target: SignalProcess): {
  readonly signal: AbortSignal;
  readonly remove: () => void;
} {
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) {
      target.stderr.write(`\nendpoint-watch: ${signal} again, exiting without cleanup\n`);
      target.exit(EXIT_INTERRUPTED);
      return;
    }
    stop.abort(new Error(`received ${signal}`));
  };
  target.on('SIGINT', onSignal);
  target.on('SIGTERM', onSignal);
  return {
    signal: stop.signal,
    remove: () => {
      target.off('SIGINT', onSignal);
      target.off('SIGTERM', onSignal);
    },
  };
}
