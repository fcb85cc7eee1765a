import type { IncomingMessage } from 'node:http';
import { OAuth2JwtBearerError } from '../errors';

/** Why a form body could not be read; the endpoint turns these into OAuth error answers. */
export class FormBodyError extends OAuth2JwtBearerError {
  readonly code = 'form_body_invalid';
  constructor(readonly kind: 'too_large' | 'repeated' | 'malformed') {
    super(kind);
    this.name = 'FormBodyError';
  }
}

/** An `application/x-www-form-urlencoded` body with exactly one value per parameter (RFC 6749 §3.2). */
export type FormFields = Record<string, string>;

/**
 * Reads an `application/x-www-form-urlencoded` body into single-valued fields, at most `limit` bytes.
 * RFC 6749 §3.2: parameters MUST NOT be included more than once, so a repeated name is an error here
 * rather than an array that some later check might miss. A body a host parser already read
 * (`express.urlencoded`) is accepted, with the same rules applied to what it produced.
 */
export async function readFormBody(req: IncomingMessage & { body?: unknown; _body?: boolean }, limit: number): Promise<FormFields> {
  // body-parser 1.x marks a parsed body with `_body`; 2.x (Express 5) only leaves the stream consumed.
  const consumed = req._body === true || req.readableEnded;
  if (consumed && req.body && typeof req.body === 'object') return fromParsed(req.body as Record<string, unknown>);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new FormBodyError('too_large');
  if (req.readableEnded) return {};
  const text = await readText(req, limit);
  const fields: FormFields = Object.create(null);
  for (const [name, value] of new URLSearchParams(text)) {
    if (name in fields) throw new FormBodyError('repeated');
    fields[name] = value;
  }
  return fields;
}

function fromParsed(body: Record<string, unknown>): FormFields {
  const fields: FormFields = Object.create(null);
  for (const [name, value] of Object.entries(body)) {
    if (Array.isArray(value)) throw new FormBodyError('repeated');
    if (typeof value !== 'string') throw new FormBodyError('malformed'); // qs-style nesting: a[b]=c
    fields[name] = value;
  }
  return fields;
}

function readText(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.resume(); // drain the rest so the 413 can be written on this connection
        reject(new FormBodyError('too_large'));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
