import type { AwsCredentialIdentityProvider } from '@smithy/types';

/** Answers SQS gives when the credentials signed with have expired. */
export const EXPIRED_CREDENTIALS = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired']);

/**
 * Makes a call; when SQS says its credentials have expired (revoked early, or expired between the
 * cache's check and the call), fetches new ones and makes it once more.
 */
export async function withFreshCredentials<T>(credentials: AwsCredentialIdentityProvider, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const { name, code } = error as { name?: string; code?: string };
    if (!EXPIRED_CREDENTIALS.has(code ?? '') && !EXPIRED_CREDENTIALS.has(name ?? '')) throw error;
    await credentials({ forceRefresh: true });
    return call();
  }
}
