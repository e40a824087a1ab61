/** One line of CloudWatch's embedded metric format, as the functions print it. */
export interface EmfLine {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }>;
  };
  [field: string]: unknown;
}

/** Parses a log line that is an EMF document; throws naming what is missing when it is not valid EMF. */
export function parseEmfLine(line: string): EmfLine {
  const document = JSON.parse(line) as Partial<EmfLine>;
  const aws = document._aws;
  if (!aws || typeof aws.Timestamp !== 'number' || !Array.isArray(aws.CloudWatchMetrics))
    throw new Error('not EMF: no _aws.Timestamp and CloudWatchMetrics');
  for (const directive of aws.CloudWatchMetrics) {
    if (!directive.Namespace) throw new Error('not EMF: a directive has no Namespace');
    for (const dimensions of directive.Dimensions) {
      for (const name of dimensions) if (typeof document[name] !== 'string') throw new Error(`not EMF: dimension ${name} has no value`);
    }
    for (const metric of directive.Metrics) {
      if (typeof document[metric.Name] !== 'number') throw new Error(`not EMF: metric ${metric.Name} has no number`);
    }
  }
  return document as EmfLine;
}

/**
 * The metrics a run emitted, read back from its log: counts summed, rates and durations at their
 * highest. Lines that are not EMF documents (the JSON logs) are passed over.
 */
export function sumEmfMetrics(log: string): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const line of log.split('\n')) {
    if (!line.startsWith('{"_aws"')) continue;
    const document = parseEmfLine(line);
    for (const { Name, Unit } of document._aws.CloudWatchMetrics.flatMap((directive) => directive.Metrics)) {
      const value = document[Name] as number;
      totals[Name] = Unit === 'Count' ? (totals[Name] ?? 0) + value : Math.max(totals[Name] ?? 0, value);
    }
  }
  return totals;
}
