/**
 * The names an operator has to provide (docs/adopt.md): what the workflows read (`secrets.X`,
 * `vars.X`, and the env they pass to actions), what runbook/environments/prod.yaml names as secret
 * variables (`...Env`), and the Function App settings functions/src reads; and the table in
 * docs/adopt.md that must list each of them with its kind.
 */
import { parse } from 'yaml';

export type Kind = 'secret' | 'variable' | 'setting' | 'automatic';

export interface NameUse {
  name: string;
  /** The kinds the documentation may give it: a secret may also be set by GitHub (GITHUB_TOKEN). */
  kinds: Kind[];
  where: string;
}

type Json = Record<string, unknown>;
const envKeys = (x: unknown): string[] =>
  x && typeof x === 'object' && 'env' in x && x.env && typeof x.env === 'object' ? Object.keys(x.env) : [];

/** `secrets.X` and `vars.X` in every `${{ }}` expression, and the env an action step is given. */
export function workflowNames(file: string, text: string): NameUse[] {
  const uses: NameUse[] = [];
  for (const [, expression] of text.matchAll(/\$\{\{([\s\S]*?)\}\}/g)) {
    for (const m of expression!.matchAll(
      /\b(secrets|vars)(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*'([^']+)'\s*\])/g,
    )) {
      const name = m[2] ?? m[3]!;
      uses.push(
        m[1] === 'secrets'
          ? { name, kinds: ['secret', 'automatic'], where: `${file}: secrets.${name}` }
          : { name, kinds: ['variable'], where: `${file}: vars.${name}` },
      );
    }
  }
  const doc = parse(text) as Json | null;
  const jobs = (doc?.jobs ?? {}) as Record<string, Json>;
  for (const [jobName, job] of Object.entries(jobs)) {
    const steps = Array.isArray(job.steps) ? (job.steps as Json[]) : [];
    for (const step of steps.filter((s) => typeof s.uses === 'string')) {
      for (const name of [...envKeys(doc), ...envKeys(job), ...envKeys(step)])
        uses.push({
          name,
          kinds: ['secret', 'variable', 'automatic'],
          where: `${file}: env of ${String(step.uses)} in job ${jobName}`,
        });
    }
  }
  return uses;
}

/** The values of every `...Env` field of an environment file: the variables holding its secrets. */
export function environmentSecretNames(file: string, text: string): NameUse[] {
  const out: NameUse[] = [];
  const walk = (x: unknown, path: string) => {
    if (Array.isArray(x)) x.forEach((v, i) => walk(v, `${path.replace(/\.$/, '')}[${i}].`));
    else if (x && typeof x === 'object')
      for (const [k, v] of Object.entries(x)) {
        if (/Env$/.test(k) && typeof v === 'string')
          out.push({ name: v, kinds: ['secret'], where: `${file}: ${path}${k}` });
        else walk(v, `${path}${k}.`);
      }
  };
  walk(parse(text), '');
  return out;
}

/** The settings a Functions source reads: `read('X')` (settings.ts), `env.X`, `process.env.X`. */
export function functionSettingNames(file: string, text: string): NameUse[] {
  const names = new Set<string>();
  for (const m of text.matchAll(/\bread\(\s*['"]([A-Z][A-Z0-9_]+)['"]\s*\)/g)) names.add(m[1]!);
  for (const m of text.matchAll(/\b(?:process\.)?env(?:\.|\[\s*['"])([A-Z][A-Z0-9_]+)/g)) names.add(m[1]!);
  return [...names].map((name) => ({ name, kinds: ['setting'], where: `${file}: ${name}` }));
}

/**
 * The documented names and their kinds: every `NAME` in the first cell of the table between the
 * `adopt-names` markers, with the kind of its row.
 */
export function documentedNames(markdown: string): Map<string, Set<Kind>> {
  const m = /<!-- adopt-names:start -->\n([\s\S]*?)\n<!-- adopt-names:end -->/.exec(markdown);
  if (!m)
    throw new Error(
      'docs/adopt.md: no table between <!-- adopt-names:start --> and <!-- adopt-names:end -->',
    );
  const documented = new Map<string, Set<Kind>>();
  for (const line of m[1]!.split('\n').slice(2)) {
    const [, first = '', kind = ''] = line.split('|').map((c) => c.trim());
    if (!['secret', 'variable', 'setting', 'automatic'].includes(kind))
      throw new Error(`docs/adopt.md: row "${line}" has no kind (secret, variable, setting or automatic)`);
    for (const [, name] of first.matchAll(/`([A-Za-z_][A-Za-z0-9_]*)`/g)) {
      const kinds = documented.get(name!) ?? new Set<Kind>();
      documented.set(name!, kinds.add(kind as Kind));
    }
  }
  return documented;
}

/** Each use the table lacks, or lists with another kind: "NAME (where; documented as ...)". */
export function undocumented(uses: readonly NameUse[], documented: Map<string, Set<Kind>>): string[] {
  const problems = new Set<string>();
  for (const use of uses) {
    const kinds = documented.get(use.name);
    if (!kinds) problems.add(`${use.name} (${use.where}; not in the table)`);
    else if (!use.kinds.some((k) => kinds.has(k)))
      problems.add(
        `${use.name} (${use.where}; documented as ${[...kinds].join(', ')}, not ${use.kinds.join(' or ')})`,
      );
  }
  return [...problems].sort();
}
