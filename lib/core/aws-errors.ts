/** The HTTP status of an AWS SDK error (`$metadata.httpStatusCode`); undefined when no answer came. */
export function httpStatusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

/** S3 said the object does not exist. */
export function isNoSuchKey(error: unknown): boolean {
  return (error as Error | null)?.name === 'NoSuchKey';
}
