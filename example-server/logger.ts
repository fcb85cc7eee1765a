import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Structured JSON logs, one object per line. Nothing here ever logs assertions, tokens or secrets; the
 * redaction list is a second line of defence should a field of that name slip into a log call.
 */
export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'oauth2-jwt-bearer-example' },
      redact: {
        paths: [
          'assertion',
          'access_token',
          'refresh_token',
          'client_secret',
          'clientSecret',
          'authorization',
          '*.assertion',
          '*.authorization',
          '*.client_secret',
        ],
        censor: '[redacted]',
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}

export type { Logger };
