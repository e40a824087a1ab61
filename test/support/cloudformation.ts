import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SLS = join(ROOT, 'node_modules/osls/bin/serverless.js');

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export interface Resource {
  Type: string;
  Condition?: string;
  DependsOn?: string | string[];
  DeletionPolicy?: string;
  Properties: Record<string, Json>;
}
export interface Template {
  Conditions: Record<string, Json>;
  Resources: Record<string, Resource>;
  Outputs: Record<string, Json>;
}

/**
 * Runs the `sls` command of this project with no AWS credentials in its environment, and its
 * standard input closed (`sls invoke local` reads an event from it when it is not a terminal).
 */
export async function sls(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^AWS_(ACCESS|SECRET|SESSION|PROFILE)/.test(name)));
  const running = promisify(execFile)(process.execPath, [SLS, ...args], { cwd: ROOT, env: { ...clean, ...env }, maxBuffer: 16 << 20 });
  running.child.stdin?.end();
  return running;
}

/** `sls package` with the given parameters; returns the CloudFormation template it wrote. */
export async function packageTemplate(params: Record<string, string> = {}): Promise<Template> {
  const out = await mkdtemp(join(tmpdir(), 'sls-package-'));
  await sls(['package', '--stage', 'test', '--region', 'eu-west-1', '--package', out, ...Object.entries(params).map(([k, v]) => `--param=${k}=${v}`)]);
  return JSON.parse(await readFile(join(out, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
}

/**
 * The template as CloudFormation would deploy it, as far as tests need: conditions evaluated
 * (their operands are literal strings after packaging), resources whose condition is false
 * removed, and `Fn::If` replaced by its chosen branch.
 */
export function deployed(template: Template): Template {
  const conditions = new Map<string, boolean>();
  const condition = (name: string): boolean => {
    if (!conditions.has(name)) conditions.set(name, evaluate(template.Conditions[name] ?? null));
    return conditions.get(name) as boolean;
  };
  const evaluate = (expression: Json): boolean => {
    const node = expression as Record<string, Json[] | string>;
    if ('Condition' in node) return condition(node.Condition as string);
    if ('Fn::Equals' in node) {
      const [a, b] = node['Fn::Equals'] as Json[];
      return JSON.stringify(a) === JSON.stringify(b);
    }
    if ('Fn::Not' in node) return !evaluate((node['Fn::Not'] as Json[])[0] ?? null);
    if ('Fn::And' in node) return (node['Fn::And'] as Json[]).every(evaluate);
    if ('Fn::Or' in node) return (node['Fn::Or'] as Json[]).some(evaluate);
    throw new Error(`cannot evaluate ${JSON.stringify(expression)}`);
  };
  const NO_VALUE = Symbol('no value');
  const choose = (value: Json): Json | typeof NO_VALUE => {
    if (Array.isArray(value)) return value.map(choose).filter((item): item is Json => item !== NO_VALUE);
    if (value === null || typeof value !== 'object') return value;
    if ('Fn::If' in value) {
      const [name, yes, no] = value['Fn::If'] as [string, Json, Json];
      return choose(condition(name) ? yes : no);
    }
    if (JSON.stringify(value) === '{"Ref":"AWS::NoValue"}') return NO_VALUE;
    const entries = Object.entries(value).map(([key, item]) => [key, choose(item)] as const);
    return Object.fromEntries(entries.filter((entry): entry is readonly [string, Json] => entry[1] !== NO_VALUE));
  };
  const keep = (entry: { Condition?: string }) => entry.Condition === undefined || condition(entry.Condition);
  return {
    Conditions: template.Conditions,
    Resources: Object.fromEntries(
      Object.entries(template.Resources)
        .filter(([, resource]) => keep(resource))
        .map(([id, resource]) => [id, choose(resource as unknown as Json) as unknown as Resource]),
    ),
    Outputs: Object.fromEntries(Object.entries(template.Outputs).filter(([, output]) => keep(output as { Condition?: string }))),
  };
}

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: Json;
  Principal?: Json;
  Condition?: Json;
}

/** Every statement of every inline policy of a role. */
export function roleStatements(template: Template, roleId: string): PolicyStatement[] {
  const role = template.Resources[roleId];
  if (!role) throw new Error(`no role ${roleId}`);
  const policies = role.Properties.Policies as unknown as Array<{ PolicyDocument: { Statement: PolicyStatement[] } }>;
  return policies.flatMap((policy) => policy.PolicyDocument.Statement);
}

export const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);
