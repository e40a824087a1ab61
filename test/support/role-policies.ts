import { readFile } from 'node:fs/promises';
import type { Account } from './iam-requests.ts';
import type { Json, Template } from './cloudformation.ts';

/** An inline policy of a role, as IAM would hold it once CloudFormation resolved the template. */
export interface RolePolicy {
  name: string;
  policy: { Version: string; Statement: Array<Record<string, Json>> };
}

/**
 * Resolves a value of a template as CloudFormation would in `account`, once `deployed()` has
 * chosen the conditions and put in the parameters: `Fn::Sub` with the pseudo parameters,
 * `Ref` to a pseudo parameter or a bucket, `Fn::GetAtt [<queue or function>, Arn]` to the ARN its
 * name gives. Throws on anything else rather than guess.
 */
export function intrinsicResolver(template: Template, account: Account): (value: Json) => Json {
  const pseudo: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': account.region, 'AWS::AccountId': account.id };
  const attribute = ([id, attr]: [string, string]): string => {
    const resource = template.Resources[id];
    if (attr === 'Arn' && resource?.Type === 'AWS::SQS::Queue')
      return `arn:aws:sqs:${account.region}:${account.id}:${resource.Properties.QueueName}`;
    if (attr === 'Arn' && resource?.Type === 'AWS::Lambda::Function') {
      return `arn:aws:lambda:${account.region}:${account.id}:function:${resource.Properties.FunctionName}`;
    }
    throw new Error(`cannot resolve Fn::GetAtt ${id}.${attr}`);
  };
  const reference = (name: string): string => {
    if (name in pseudo) return pseudo[name] as string;
    const resource = template.Resources[name];
    if (resource?.Type === 'AWS::S3::Bucket') return String(resource.Properties.BucketName);
    throw new Error(`cannot resolve Ref ${name}`);
  };
  const substitute = (sub: Json): string => {
    if (typeof sub !== 'string') throw new Error(`cannot resolve Fn::Sub ${JSON.stringify(sub)}`);
    return sub.replace(/\$\{([\w:.]+)\}/g, (_, name: string) => {
      const [id, attr] = name.split('.');
      return attr && !name.startsWith('AWS::') ? attribute([id as string, attr]) : reference(name);
    });
  };
  const resolve = (value: Json): Json => {
    if (Array.isArray(value)) return value.map(resolve);
    if (value === null || typeof value !== 'object') return value;
    if ('Fn::Sub' in value) return substitute(value['Fn::Sub'] as Json);
    if ('Fn::GetAtt' in value) return attribute(value['Fn::GetAtt'] as [string, string]);
    if ('Ref' in value) return reference(String(value.Ref));
    if (Object.keys(value).some((key) => key.startsWith('Fn::'))) throw new Error(`cannot resolve ${JSON.stringify(value)}`);
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolve(item)]));
  };
  return resolve;
}

/** Every role's inline policies, resolved (`intrinsicResolver`) as IAM would hold them. */
export function rolePolicies(template: Template, account: Account): Map<string, RolePolicy[]> {
  const resolve = intrinsicResolver(template, account);
  const roles = new Map<string, RolePolicy[]>();
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Role') continue;
    const policies = resource.Properties.Policies as unknown as Array<{ PolicyName: string; PolicyDocument: Json }>;
    roles.set(
      id,
      policies.map(({ PolicyName, PolicyDocument }) => ({ name: PolicyName, policy: resolve(PolicyDocument) as RolePolicy['policy'] })),
    );
  }
  return roles;
}

const SOURCES = ['serverless.yml', 'resources/iam.yml'];

/**
 * The statement ids whose definition in the template's sources has a comment just above it, the
 * reason for a grant no recorded request uses (Lambda's own use of the role, such as writing the
 * logs or sending to an on-failure destination, goes through no endpoint a test can watch).
 */
export async function explainedStatements(root: URL): Promise<Set<string>> {
  const explained = new Set<string>();
  for (const source of SOURCES) {
    const lines = (await readFile(new URL(source, root), 'utf8')).split('\n');
    lines.forEach((line, index) => {
      const sid = /\bSid: (\w+)/.exec(line)?.[1];
      if (!sid) return;
      // Up past the statement's own opening lines (`- Fn::If:`, a condition name, a map key).
      for (let above = index - 1; above >= Math.max(0, index - 4); above -= 1) {
        const text = lines[above]?.trim() ?? '';
        if (text.startsWith('#')) {
          explained.add(sid);
          return;
        }
        if (text === '' || /Sid:|Action:|Resource:/.test(text)) return;
      }
    });
  }
  return explained;
}
