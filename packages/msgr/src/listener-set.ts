/**
 * A bounded set of listeners for one event, called in registration order. A listener that throws
 * is logged and skipped (one subsystem's bug must not stop the others from seeing a new map),
 * except for a failed assertion, which is rethrown outside the caller so it crashes the process
 * (STYLE: assertions are never caught).
 */
import { AssertionFailure, NacreError, type Logger } from '@nacre/util';

export class ListenerSet<Args extends unknown[]> {
  private readonly listeners = new Set<(...args: Args) => void>();

  constructor(
    private readonly what: string,
    private readonly logger: Logger,
    /** Listeners per event: a handful of subsystems watch one event. */
    private readonly listenersMax = 64,
  ) {}

  get size(): number {
    return this.listeners.size;
  }

  /** Add a listener; returns the function that removes it. */
  add(listener: (...args: Args) => void): () => void {
    if (this.listeners.size >= this.listenersMax) {
      throw new NacreError(`too many ${this.what} listeners (max ${this.listenersMax})`, { code: 'EAGAIN' });
    }
    const wrapped = (...args: Args): void => listener(...args);
    this.listeners.add(wrapped);
    return () => this.listeners.delete(wrapped);
  }

  emit(...args: Args): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(...args);
      } catch (err) {
        if (err instanceof AssertionFailure) {
          queueMicrotask(() => {
            throw err;
          });
          return;
        }
        this.logger.error({ err }, `${this.what} listener failed`);
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
