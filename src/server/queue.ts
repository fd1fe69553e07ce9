// The generation queue: the runner is not reentrant (one chat() at a time, a second one throws),
// so every generation passes through here. One slot runs; at most `maxWaiting` wait behind it in
// FIFO order; more are refused (the caller answers 429). A waiter can leave at any time (client
// gone) and the ones behind it move up; each waiter can observe its position change.

export class QueueFullError extends Error {
  constructor(readonly waiting: number) {
    super(`the queue is full (${waiting} request(s) waiting)`);
    this.name = 'QueueFullError';
  }
}

/** Thrown by Ticket.wait when the ticket was cancelled (its signal aborted, or the queue closed). */
export class QueueCancelledError extends Error {
  constructor(readonly reason: 'aborted' | 'closed') {
    super(reason === 'closed' ? 'the server is shutting down' : 'the request left the queue');
    this.name = 'QueueCancelledError';
  }
}

type State = 'waiting' | 'running' | 'done';

/** A place in the queue. `position` is 1-based among the waiters (1 = next), 0 once running. */
export class Ticket {
  state: State = 'waiting';
  position = 0;
  private wake: (() => void) | undefined;
  private cancelled: QueueCancelledError | undefined;
  constructor(private readonly queue: GenerationQueue) {}

  /** Resolves when the position changed or the slot was granted; throws QueueCancelledError when
   *  the ticket was cancelled. Loop on it: `while (t.state === 'waiting') { show(t.position); await t.wait(); }`. */
  wait(): Promise<void> {
    if (this.cancelled) return Promise.reject(this.cancelled);
    if (this.state !== 'waiting') return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.wake = resolve;
    }).then(() => {
      if (this.cancelled) throw this.cancelled;
      if (this.state === 'done') throw new QueueCancelledError('aborted'); // released while waiting
    });
  }

  /** Leave the queue, or free the slot when running. Idempotent. */
  release(): void {
    this.queue.leave(this);
  }

  /** @internal */ notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
  /** @internal */ cancel(reason: 'aborted' | 'closed'): void {
    this.cancelled ??= new QueueCancelledError(reason);
    this.notify();
  }
}

export class GenerationQueue {
  private running: Ticket | undefined;
  private readonly waiting: Ticket[] = [];
  private closed = false;

  constructor(readonly maxWaiting: number) {}

  /** Requests waiting (not counting the running one). */
  get length(): number {
    return this.waiting.length;
  }
  get busy(): boolean {
    return this.running !== undefined;
  }

  /** Take a place: running at once when idle, else at the back of the line. Throws
   *  QueueFullError when `maxWaiting` already wait; QueueCancelledError after close(). */
  enter(signal?: AbortSignal): Ticket {
    if (this.closed) throw new QueueCancelledError('closed');
    const t = new Ticket(this);
    if (!this.running && this.waiting.length === 0) {
      t.state = 'running';
      this.running = t;
    } else {
      if (this.waiting.length >= this.maxWaiting) throw new QueueFullError(this.waiting.length);
      this.waiting.push(t);
      t.position = this.waiting.length;
    }
    if (signal) {
      // a client gone while waiting leaves the line at once (the ones behind move up);
      // a running one is stopped by its own signal, through the runner
      const onAbort = () => {
        if (t.state === 'waiting') {
          t.cancel('aborted');
          this.leave(t);
        }
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
    return t;
  }

  /** @internal Ticket.release. */
  leave(t: Ticket): void {
    if (t.state === 'done') return;
    const was = t.state;
    t.state = 'done';
    if (was === 'running') {
      this.running = undefined;
      const next = this.waiting.shift();
      if (next) {
        next.state = 'running';
        next.position = 0;
        this.running = next;
        next.notify();
      } else for (const w of this.idleWaiters.splice(0)) w();
    } else {
      const i = this.waiting.indexOf(t);
      if (i >= 0) this.waiting.splice(i, 1);
      t.notify();
    }
    this.renumber();
  }

  /** Refuse new tickets and cancel every waiting one (the running one is stopped by its owner).
   *  Resolves when the running one has released its slot. */
  close(): Promise<void> {
    this.closed = true;
    for (const t of this.waiting.splice(0)) {
      t.state = 'done';
      t.cancel('closed');
    }
    return this.idle();
  }

  /** Resolves when no ticket runs. */
  idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }
  private idleWaiters: Array<() => void> = [];

  private renumber(): void {
    this.waiting.forEach((t, i) => {
      if (t.position !== i + 1) {
        t.position = i + 1;
        t.notify();
      }
    });
  }
}
