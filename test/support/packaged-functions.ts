import { type ChildProcess, fork } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import yauzl from 'yauzl';
import type { Json, Template } from './cloudformation.ts';

const BOOTSTRAP = fileURLToPath(new URL('./lambda-bootstrap.ts', import.meta.url));

/** One function of a packaged stack, as its template describes it. */
export interface PackagedFunction {
  logicalId: string;
  name: string;
  handler: string;
  /** The logical id of its role. */
  role: string;
  timeoutSeconds: number;
  memorySize: number;
  environment: Record<string, string>;
  /** Where its zip was unpacked: the task root. */
  root: string;
}

/**
 * Unpacks the zip of every function of a `sls package` output folder, as Lambda does, and reads
 * what the template sets for each. An environment value that is not a plain string fails here:
 * the functions read none that CloudFormation would have to resolve.
 */
export async function unpackFunctions(packageFolder: string, template: Template): Promise<Map<string, PackagedFunction>> {
  const functions = new Map<string, PackagedFunction>();
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const { Handler, FunctionName, Code, Role, Timeout, MemorySize, Environment } = resource.Properties as Record<string, Json>;
    const zip = String((Code as { S3Key: string }).S3Key)
      .split('/')
      .at(-1) as string;
    const root = await mkdtemp(join(tmpdir(), `${logicalId}-`));
    await unzip(join(packageFolder, zip), root);
    const variables = ((Environment as { Variables?: Record<string, Json> } | undefined)?.Variables ?? {}) as Record<string, Json>;
    for (const [variable, value] of Object.entries(variables)) {
      if (typeof value !== 'string')
        throw new Error(`${logicalId}: environment ${variable} is not a plain string: ${JSON.stringify(value)}`);
    }
    functions.set(logicalId, {
      logicalId,
      name: String(FunctionName),
      handler: String(Handler),
      role: ((Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'] ?? [])[0] as string,
      timeoutSeconds: Number(Timeout ?? 6),
      memorySize: Number(MemorySize ?? 1024),
      environment: variables as Record<string, string>,
      root,
    });
  }
  return functions;
}

async function unzip(zip: string, into: string): Promise<void> {
  const archive = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(zip, { lazyEntries: true }, (error, file) => (error ? reject(error) : resolve(file))),
  );
  await new Promise<void>((resolve, reject) => {
    archive.on('error', reject).on('end', resolve);
    archive.on('entry', async (entry: yauzl.Entry) => {
      try {
        const path = join(into, entry.fileName);
        if (!path.startsWith(into)) throw new Error(`zip entry ${entry.fileName} escapes the folder`);
        if (!entry.fileName.endsWith('/')) {
          await mkdir(dirname(path), { recursive: true });
          const stream = await new Promise<NodeJS.ReadableStream>((done, fail) =>
            archive.openReadStream(entry, (error, read) => (error ? fail(error) : done(read))),
          );
          await pipeline(stream, createWriteStream(path));
        }
        archive.readEntry();
      } catch (error) {
        reject(error);
      }
    });
    archive.readEntry();
  });
}

/**
 * A packaged function in a process of its own, started as Lambda starts one: the environment the
 * template sets (its NODE_OPTIONS included) plus what Lambda adds, and nothing of this process's.
 */
export class FunctionProcess {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  readonly fn: PackagedFunction;
  #next = 0;
  /** What the function wrote to stdout and stderr, for a failing test to show. */
  output = '';

  constructor(fn: PackagedFunction, lambdaEnvironment: Record<string, string>) {
    this.fn = fn;
    this.#child = fork(BOOTSTRAP, [], {
      env: {
        ...fn.environment,
        ...lambdaEnvironment,
        LAMBDA_TASK_ROOT: fn.root,
        _HANDLER: fn.handler,
        AWS_LAMBDA_FUNCTION_NAME: fn.name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
        PATH: process.env.PATH ?? '',
      },
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    for (const stream of [this.#child.stdout, this.#child.stderr]) stream?.on('data', (chunk) => this.#capture(String(chunk)));
    this.#child.on('message', ({ id, result, error }: { id: number; result?: unknown; error?: { name: string; message: string } }) => {
      const waiting = this.#pending.get(id);
      this.#pending.delete(id);
      if (error) waiting?.reject(Object.assign(new Error(error.message), { name: error.name }));
      else waiting?.resolve(result);
    });
    this.#child.on('exit', (code) => {
      for (const waiting of this.#pending.values()) waiting.reject(new Error(`${fn.name} exited with ${code}:\n${this.output}`));
      this.#pending.clear();
    });
  }

  /** Invokes the handler with an event, as Lambda does, optionally through a qualified ARN. */
  invoke<T = unknown>(event: unknown, invokedFunctionArn = `arn:aws:lambda:us-east-1:000000000000:function:${this.fn.name}`): Promise<T> {
    const id = (this.#next += 1);
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#child.send({ id, event, invokedFunctionArn, deadline: Date.now() + this.fn.timeoutSeconds * 1000 });
    });
  }

  stop(): void {
    this.#child.kill();
  }

  #capture(text: string): void {
    // The last 20 kB: enough to see why an invocation failed.
    this.output = `${this.output}${text}`.slice(-20_000);
  }
}
