import pino, { type DestinationStream } from 'pino';

/**
 * stdout for the JSON log lines, written synchronously, one write() per line. pino's default stdout
 * stream writes asynchronously, in batches: a line logged just before `process.exit()` (the final
 * `stopped`) can be lost, and with several cluster processes on one pipe a batch larger than PIPE_BUF
 * (4096 bytes on Linux) may be split and interleaved with another process's lines. One write per line
 * keeps every line shorter than that whole.
 */
export function stdoutLines(): DestinationStream {
  return pino.destination({ dest: 1, sync: true });
}
