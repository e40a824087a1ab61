/** What Ctrl-C means to a publishing command. */
export interface Interrupts {
  /** Aborts at the first Ctrl-C: stop reading, let the batches in flight settle. */
  signal: AbortSignal;
  /** Settles at the second Ctrl-C: stop at once with what is known. */
  forced: Promise<void>;
  readonly interrupted: boolean;
  /** Stops listening (the command is over). */
  dispose(): void;
}

/** Exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

/**
 * The first SIGINT asks the run to stop cleanly; a second one, while it drains, asks it to stop
 * now. Either way the command prints its summary, and exits with 130 unless the run had finished.
 */
export function listenForInterrupts(notice: (message: string) => void = (message) => process.stderr.write(`${message}\n`)): Interrupts {
  const stop = new AbortController();
  const { promise: forced, resolve: force } = Promise.withResolvers<void>();
  const onSignal = () => {
    if (!stop.signal.aborted) {
      notice('Stopping: the batches in flight settle, then the summary follows. Ctrl-C again to stop at once.');
      stop.abort();
      return;
    }
    force();
  };
  process.on('SIGINT', onSignal);
  return {
    signal: stop.signal,
    forced,
    get interrupted() {
      return stop.signal.aborted;
    },
    dispose: () => process.off('SIGINT', onSignal),
  };
}
