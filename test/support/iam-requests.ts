import type { RecordedRequest } from './request-recorder.ts';

/** What IAM evaluates for one request: the action, the resource and the condition keys it sees. */
export interface IamRequest {
  /** The role that signed: each function's process signs with its role's logical id. */
  role: string;
  action: string;
  resource: string;
  context: Record<string, string>;
  /** The request as sent, for a failure to name. */
  call: string;
}

/** Where the emulator's resources live, as their ARNs name them. */
export interface Account {
  id: string;
  region: string;
}

/**
 * The IAM requests one recorded AWS request makes, by the service authorization reference's
 * mapping of API operations to actions (FACTS.md: HeadBucket and ListObjectsV2 are
 * `s3:ListBucket`, HeadObject `s3:GetObject`, SendMessageBatch `sqs:SendMessage`, …). Throws on an
 * operation it does not know: an unmapped call must be mapped, never passed.
 */
export function iamRequests(recorded: RecordedRequest, account: Account): IamRequest[] {
  const call = `${recorded.method} ${recorded.path}${recorded.query.size > 0 ? `?${recorded.query}` : ''}${recorded.target ? ` ${recorded.target}` : ''}`;
  const made = (action: string, resource: string, context: Record<string, string> = {}): IamRequest => ({
    role: recorded.accessKeyId,
    action,
    resource,
    context,
    call,
  });
  switch (recorded.service) {
    case 's3':
      return s3Requests(recorded, made);
    case 'sqs':
      return [sqsRequest(recorded, account, made)];
    case 'lambda': {
      const invoked = /^\/2015-03-31\/functions\/(.+)\/invocations$/.exec(recorded.path)?.[1] ?? '';
      const arn = invoked.startsWith('arn:') ? invoked : `arn:aws:lambda:${account.region}:${account.id}:function:${invoked}`;
      if (recorded.method === 'POST' && invoked) return [made('lambda:InvokeFunction', arn)];
      break;
    }
  }
  throw new Error(`no IAM mapping for ${recorded.service} ${call}`);
}

type Made = (action: string, resource: string, context?: Record<string, string>) => IamRequest;

function s3Requests({ method, path, query, body }: RecordedRequest, made: Made): IamRequest[] {
  const [, bucket = '', ...rest] = path.split('/');
  const key = rest.join('/');
  const bucketArn = `arn:aws:s3:::${bucket}`;
  if (key) {
    const action = { GET: 's3:GetObject', HEAD: 's3:GetObject', PUT: 's3:PutObject', DELETE: 's3:DeleteObject' }[method];
    if (action) return [made(query.has('versionId') && action === 's3:GetObject' ? 's3:GetObjectVersion' : action, `${bucketArn}/${key}`)];
  } else if (query.has('notification')) {
    return [made(method === 'PUT' ? 's3:PutBucketNotification' : 's3:GetBucketNotification', bucketArn)];
  } else if (query.has('inventory')) {
    return [made(method === 'GET' ? 's3:GetInventoryConfiguration' : 's3:PutInventoryConfiguration', bucketArn)];
  } else if (method === 'POST' && query.has('delete')) {
    // DeleteObjects: s3:DeleteObject on each key it names.
    return [...body.matchAll(/<Key>([^<]*)<\/Key>/g)].map((match) =>
      made('s3:DeleteObject', `${bucketArn}/${unescapeXml(match[1] ?? '')}`),
    );
  } else if (method === 'HEAD' || (method === 'GET' && query.get('list-type') === '2')) {
    return [made('s3:ListBucket', bucketArn, query.has('prefix') ? { 's3:prefix': query.get('prefix') ?? '' } : {})];
  }
  throw new Error(`no IAM mapping for S3 ${method} ${path}?${query}`);
}

/** SQS operations and their actions; the queue from `QueueUrl`, or `QueueName` and its owner. */
const SQS_ACTIONS: Record<string, string> = {
  SendMessage: 'sqs:SendMessage',
  SendMessageBatch: 'sqs:SendMessage',
  GetQueueUrl: 'sqs:GetQueueUrl',
  ReceiveMessage: 'sqs:ReceiveMessage',
  DeleteMessage: 'sqs:DeleteMessage',
  DeleteMessageBatch: 'sqs:DeleteMessage',
  ChangeMessageVisibility: 'sqs:ChangeMessageVisibility',
  ChangeMessageVisibilityBatch: 'sqs:ChangeMessageVisibility',
  GetQueueAttributes: 'sqs:GetQueueAttributes',
};

function sqsRequest({ target = '', body }: RecordedRequest, account: Account, made: Made): IamRequest {
  const operation = target.replace(/^AmazonSQS\./, '');
  const action = SQS_ACTIONS[operation];
  if (!action) throw new Error(`no IAM mapping for SQS ${target}`);
  const input = JSON.parse(body || '{}') as { QueueUrl?: string; QueueName?: string; QueueOwnerAWSAccountId?: string };
  const [owner, name] = input.QueueUrl
    ? new URL(input.QueueUrl).pathname.split('/').filter(Boolean)
    : [input.QueueOwnerAWSAccountId ?? account.id, input.QueueName];
  return made(action, `arn:aws:sqs:${account.region}:${owner}:${name}`);
}

function unescapeXml(text: string): string {
  return text.replace(
    /&(lt|gt|quot|apos|amp);/g,
    (_, entity: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[entity] ?? '',
  );
}
