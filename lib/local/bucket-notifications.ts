import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { s3Error } from './s3-error.ts';

const EMPTY = '<?xml version="1.0" encoding="UTF-8"?><NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>';

/**
 * Gives the emulator S3's bucket notification configuration, which fauxqs 2.4.1 does not have:
 * `PUT /<bucket>?notification` replaces the bucket's document, `GET` returns it (an empty
 * configuration until the first PUT), both 404 NoSuchBucket for a bucket that does not exist.
 * The document is kept as sent, as S3 keeps it; nothing is delivered.
 */
export function serveBucketNotifications(app: FastifyInstance): void {
  const documents = new Map<string, string>();
  // PUT bodies reach the hook unparsed: fauxqs's own parsers are for its routes.
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const [path = '', query = ''] = request.url.split('?');
    const segments = path.split('/').filter(Boolean);
    if (segments.length !== 1 || !new URLSearchParams(query).has('notification')) return;
    const bucket = decodeURIComponent(segments[0] as string);
    const head = await app.inject({ method: 'HEAD', url: `/${segments[0]}` });
    if (head.statusCode !== 200) return s3Error(reply, 404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
    if (request.method === 'GET')
      return reply
        .code(200)
        .header('content-type', 'application/xml')
        .send(documents.get(bucket) ?? EMPTY);
    if (request.method !== 'PUT')
      return s3Error(reply, 405, 'MethodNotAllowed', 'The specified method is not allowed', { BucketName: bucket });
    const body = Buffer.concat(await request.raw.toArray()).toString('utf8');
    if (!body.includes('<NotificationConfiguration')) {
      return s3Error(reply, 400, 'MalformedXML', 'The XML you provided was not well-formed', { BucketName: bucket });
    }
    documents.set(bucket, body);
    return reply.code(200).send('');
  });
}
