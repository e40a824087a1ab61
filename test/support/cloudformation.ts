export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export interface Resource {
  Type: string;
  Condition?: string;
  DependsOn?: string | string[];
  DeletionPolicy?: string;
  Properties: Record<string, Json>;
}
export interface Parameter {
  Type: string;
  Default?: string;
  AllowedPattern?: string;
  AllowedValues?: Array<string | number>;
  MinValue?: number;
  MaxValue?: number;
}

/**
 * What CloudFormation says of a parameter value before it creates anything (its parameter rules:
 * a number's type and bounds, allowed values, a pattern); undefined when it accepts the value.
 */
export function parameterProblem(parameter: Parameter, value: string): string | undefined {
  if (parameter.Type === 'Number') {
    const number = Number(value);
    if (value.trim() === '' || !Number.isFinite(number)) return 'must be a number';
    if (parameter.MinValue !== undefined && number < parameter.MinValue) return `must not be less than ${parameter.MinValue}`;
    if (parameter.MaxValue !== undefined && number > parameter.MaxValue) return `must not be greater than ${parameter.MaxValue}`;
  }
  if (parameter.AllowedValues && !parameter.AllowedValues.map(String).includes(value)) return 'is not an allowed value';
  if (parameter.AllowedPattern && !new RegExp(`^(?:${parameter.AllowedPattern})$`).test(value)) return 'does not match the pattern';
  return undefined;
}

export interface Template {
  Parameters: Record<string, Parameter>;
  Conditions: Record<string, Json>;
  Resources: Record<string, Resource>;
  Outputs: Record<string, Json>;
}

/**
 * The template as CloudFormation would deploy it with its parameters' defaults (the serverless
 * params), as far as tests need: references to parameters replaced by their values (in `Fn::Sub`
 * texts too), conditions
 * evaluated, resources whose condition is false removed, and `Fn::If` replaced by its chosen branch.
 */
export function deployed(template: Template): Template {
  const conditions = new Map<string, boolean>();
  const condition = (name: string): boolean => {
    if (!conditions.has(name)) conditions.set(name, evaluate(template.Conditions[name] ?? null));
    return conditions.get(name) as boolean;
  };
  const parameter = (value: Json): Json => {
    const name = (value as { Ref?: string } | null)?.Ref;
    return name !== undefined && name in template.Parameters ? (template.Parameters[name]?.Default ?? '') : value;
  };
  const evaluate = (expression: Json): boolean => {
    const node = expression as Record<string, Json[] | string>;
    if ('Condition' in node) return condition(node.Condition as string);
    if ('Fn::Equals' in node) {
      const [a, b] = (node['Fn::Equals'] as Json[]).map(parameter);
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
    if ('Fn::Sub' in value) return substitute(value['Fn::Sub'] as Json);
    const resolved = parameter(value);
    if (resolved !== value) return resolved;
    const entries = Object.entries(value).map(([key, item]) => [key, choose(item)] as const);
    return Object.fromEntries(entries.filter((entry): entry is readonly [string, Json] => entry[1] !== NO_VALUE));
  };
  // Parameters in a Fn::Sub text take their values; variables whose values are texts are inlined.
  const substitute = (sub: Json): Json => {
    const [text, variables = {}] = (Array.isArray(sub) ? sub : [sub]) as [string, Record<string, Json>?];
    let resolved = text.replace(/\$\{(\w+)\}/g, (whole, name: string) => template.Parameters[name]?.Default ?? whole);
    const kept: Record<string, Json> = {};
    for (const [name, value] of Object.entries(variables)) {
      const chosen = choose(value);
      const inline = typeof chosen === 'string' ? chosen : (chosen as { 'Fn::Sub'?: Json } | null)?.['Fn::Sub'];
      if (typeof inline === 'string') resolved = resolved.replaceAll(`\${${name}}`, inline);
      else kept[name] = chosen as Json;
    }
    return { 'Fn::Sub': Object.keys(kept).length > 0 ? [resolved, kept] : resolved };
  };
  const keep = (entry: { Condition?: string }) => entry.Condition === undefined || condition(entry.Condition);
  return {
    Parameters: template.Parameters,
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
