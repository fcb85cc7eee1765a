/**
 * Servers to stop and databases to drop, also when the run is interrupted (Ctrl-C) or fails: a bench
 * run must leave no process and no database behind.
 */
const pending = new Set<() => Promise<void>>();

/** Registers `fn`; the returned function runs it once and unregisters it. */
export function deferCleanup(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  const run = () => (done ??= (pending.delete(run), fn()));
  pending.add(run);
  return run;
}

export async function cleanupAll(): Promise<void> {
  // Newest first: a server stops before its database is dropped.
  for (const fn of [...pending].reverse()) await fn().catch((error) => console.error(`cleanup: ${(error as Error).message}`));
}

let installed = false;
export function cleanupOnSignals(): void {
  if (installed) return;
  installed = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping servers and dropping databases`);
      void cleanupAll().finally(() => process.exit(130));
    });
  }
}
