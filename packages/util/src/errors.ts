/**
 * Errors carry a POSIX-style code that survives the wire (name + code, never `instanceof`).
 * Codes used across Nacre: EINVAL (bad argument), ENOENT, EEXIST, EIO (checksum mismatch or device
 * error), ENOSPC, ETIMEDOUT, EPERM (auth/capability), EAGAIN (retry after map change), ENOTSUP,
 * ESHUTDOWN (component stopped), ERANGE, EBUSY.
 */
export type ErrorCode =
  | 'EINVAL' | 'ENOENT' | 'EEXIST' | 'EIO' | 'ENOSPC' | 'ETIMEDOUT' | 'EPERM' | 'EAGAIN'
  | 'ENOTSUP' | 'ESHUTDOWN' | 'ERANGE' | 'EBUSY' | 'ECANCELED' | 'ENOTEMPTY' | 'EFBIG'
  | 'ENAMETOOLONG' | 'EPROTO' | 'ECONNREFUSED' | 'ESTALE' | 'EDOM';

export class NacreError extends Error {
  readonly code: ErrorCode;
  constructor(message: string, options: { code: ErrorCode; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NacreError';
    this.code = options.code;
  }
}

/** True if `err` carries the given code (works for errors that crossed the wire as plain objects). */
export function hasCode(err: unknown, code: ErrorCode): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/** 'ok' when `p` resolves, else the code of what it rejected with (or its text): for tests and tools. */
export async function outcomeCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

/**
 * Assertions stay on in production: a crashed daemon is a liveness problem, a silently wrong one
 * is data loss. Never catch an AssertionFailure in daemon code.
 */
export class AssertionFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssertionFailure';
  }
}

export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new AssertionFailure(typeof message === 'function' ? message() : message);
}
