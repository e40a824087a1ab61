import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A cap on messages per second: a token bucket that refills at `rate` and holds a tenth of a
 * second's worth (at least one batch), so that no one-second window sees more than the rate and a
 * tenth. Callers take tokens in turn, first come first served; the rate can change while they wait
 * (a worker's share of a run's cap, as other workers start and stop).
 */
export class RateLimiter {
  #rate: number;
  #tokens: number;
  #at = performance.now();
  #turn: Promise<void> = Promise.resolve();

  constructor(perSecond: number) {
    this.#rate = perSecond;
    this.#tokens = this.#capacity;
  }

  get rate(): number {
    return this.#rate;
  }

  set rate(perSecond: number) {
    this.#refill();
    this.#rate = perSecond;
    this.#tokens = Math.min(this.#tokens, this.#capacity);
  }

  /** Waits until `count` messages may go. */
  take(count: number): Promise<void> {
    const turn = this.#turn.then(() => this.#wait(count));
    this.#turn = turn.catch(() => {});
    return turn;
  }

  get #capacity(): number {
    return Math.max(10, this.#rate / 10);
  }

  async #wait(count: number): Promise<void> {
    for (;;) {
      this.#refill();
      if (this.#tokens >= count) {
        this.#tokens -= count;
        return;
      }
      await sleep(Math.max(1, ((count - this.#tokens) / this.#rate) * 1000));
    }
  }

  #refill(): void {
    const now = performance.now();
    this.#tokens = Math.min(this.#capacity, this.#tokens + ((now - this.#at) / 1000) * this.#rate);
    this.#at = now;
  }
}
