import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** The messages a queue holds, as SQS counts them. */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
}

/**
 * The queue's arrivals, measured the way a consumer would see them: its depth read every second,
 * each one-second window's growth an arrival rate. `maxWindowRate` is the busiest window;
 * `meanRate` the mean over the windows between the first and the last that saw arrivals (those
 * two are partial).
 */
export class ArrivalMeter {
  readonly #windows: number[] = [];
  readonly #timer: ReturnType<typeof setInterval>;
  #last = 0;

  constructor(sqs: SQSClient, queueUrl: string) {
    this.#timer = setInterval(async () => {
      const depth = await queueDepth(sqs, queueUrl);
      this.#windows.push(depth - this.#last);
      this.#last = depth;
    }, 1_000);
  }

  stop(): { maxWindowRate: number; meanRate: number } {
    clearInterval(this.#timer);
    const first = this.#windows.findIndex((arrivals) => arrivals > 0);
    const last = this.#windows.findLastIndex((arrivals) => arrivals > 0);
    const full = first === -1 ? [] : this.#windows.slice(first + 1, last);
    const busy = first === -1 ? [] : this.#windows.slice(first, last + 1);
    const mean = (values: number[]) => Math.round(values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length));
    return {
      maxWindowRate: this.#windows.reduce((most, arrivals) => Math.max(most, arrivals), 0),
      meanRate: full.length > 0 ? mean(full) : mean(busy),
    };
  }
}
