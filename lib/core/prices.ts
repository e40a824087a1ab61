/**
 * The prices a dry run's estimate uses: AWS's public list prices in us-east-1, as of the date
 * given (docs/performance.md, "What it costs per million objects", works from the same figures).
 */
export const PRICES = {
  asOf: '2026-12-01',
  region: 'us-east-1',
  /** Per million SQS requests; every 64 KiB of a request's payload is one request. */
  sqsStandardPerMillion: 0.4,
  sqsFifoPerMillion: 0.5,
  /** Per thousand S3 requests: GET (GetObject, HeadObject) and LIST (ListObjectsV2). */
  s3GetPerThousand: 0.0004,
  s3ListPerThousand: 0.005,
  /** Lambda on arm64, per GB-second. */
  lambdaArmPerGbSecond: 0.0000133334,
  /** The worker function's memory: 1,769 MB, one vCPU. */
  workerGb: 1769 / 1024,
} as const;

export interface UsageEstimate {
  sqsRequests: number;
  fifo: boolean;
  s3Gets: number;
  s3Lists: number;
  lambdaSeconds: number;
}

export interface CostEstimate {
  sqs: number;
  s3: number;
  lambda: number;
  total: number;
  pricesAsOf: string;
}

/** What a run of this usage costs in us-east-1, in US dollars, rounded to a millionth. */
export function estimateCost(usage: UsageEstimate): CostEstimate {
  const round = (usd: number) => Math.round(usd * 1e6) / 1e6;
  const sqs = (usage.sqsRequests / 1e6) * (usage.fifo ? PRICES.sqsFifoPerMillion : PRICES.sqsStandardPerMillion);
  const s3 = (usage.s3Gets / 1e3) * PRICES.s3GetPerThousand + (usage.s3Lists / 1e3) * PRICES.s3ListPerThousand;
  const lambda = usage.lambdaSeconds * PRICES.workerGb * PRICES.lambdaArmPerGbSecond;
  return { sqs: round(sqs), s3: round(s3), lambda: round(lambda), total: round(sqs + s3 + lambda), pricesAsOf: PRICES.asOf };
}
