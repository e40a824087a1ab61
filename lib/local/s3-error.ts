import type { FastifyReply } from 'fastify';

/** An S3 error answer from the emulator's own additions, shaped as S3 sends one; `details` add elements such as BucketName. */
export function s3Error(
  reply: FastifyReply,
  status: number,
  code: string,
  message: string,
  details: Record<string, string> = {},
): FastifyReply {
  const extra = Object.entries(details)
    .map(([name, value]) => `<${name}>${value}</${name}>`)
    .join('');
  return reply
    .code(status)
    .header('content-type', 'application/xml')
    .send(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message>${extra}</Error>`);
}
