// Packages every documented variant of the stack and checks each template with cfn-lint, the
// CloudFormation linter AWS maintains: it knows rules that no emulator checks. Exit 0 when every
// template is clean; 1 on any error or unsuppressed warning; 2 when cfn-lint is missing.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { packageStack, removePackage, STACK_VARIANTS } from '../lib/local/stack-package.ts';

interface Finding {
  Level: 'Error' | 'Warning' | 'Informational';
  Rule: { Id: string };
  Message: string;
  Filename: string;
  Location: { Start: { LineNumber: number } };
}

const run = promisify(execFile);

try {
  await run('cfn-lint', ['--version']);
} catch {
  process.stderr.write(
    'cfn-lint is not installed: install it with `pip install cfn-lint` (Python 3), then run `npm run lint:stack` again.\n',
  );
  process.exit(2);
}

/** cfn-lint's findings for some templates; it exits non-zero whenever it finds anything. */
async function lint(templates: string[]): Promise<Finding[]> {
  const result = await run('cfn-lint', ['--format', 'json', '--', ...templates], { maxBuffer: 16 << 20 }).catch(
    (error: { stdout?: string; stderr?: string; message: string }) => {
      if (!error.stdout) throw new Error(`cfn-lint failed: ${error.stderr || error.message}`);
      return { stdout: error.stdout };
    },
  );
  return JSON.parse(result.stdout) as Finding[];
}

let failed = false;
for (const stack of Object.values(STACK_VARIANTS)) {
  const templates = await packageStack(stack);
  const findings = (await lint(templates).finally(() => removePackage(templates))).filter((finding) => finding.Level !== 'Informational');
  const count = (level: Finding['Level']) => findings.filter((finding) => finding.Level === level).length;
  const params = Object.entries(stack.params)
    .map(([name, value]) => ` ${name}=${value}`)
    .join('');
  console.log(
    `${stack.name} (${stack.stage}, ${stack.region}${params}): ${templates.length} templates checked, ` +
      `${count('Error')} errors, ${count('Warning')} warnings`,
  );
  for (const finding of findings) {
    console.log(`  ${finding.Level} ${finding.Rule.Id} ${finding.Filename}:${finding.Location.Start.LineNumber} ${finding.Message}`);
  }
  failed ||= findings.length > 0;
}
process.exitCode = failed ? 1 : 0;
