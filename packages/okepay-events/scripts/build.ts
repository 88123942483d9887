/**
 * Builds dist/ from src/ and the pipeline's own schema (functions/shared/canonical/), so the package
 * can never describe another event than the one the pipeline publishes:
 * 1. declarations, with the repository's TypeScript, then moved so that dist/index.d.ts and
 *    dist/testing.d.ts sit beside the JavaScript and the schema's declarations under dist/functions/;
 * 2. JavaScript, with esbuild: one ESM file per entry point and a shared chunk, zod left as a
 *    dependency, the few helpers the test factory uses (uuid, lossless-json) bundled with their licences;
 * 3. the language-neutral contract: events/schema/ and events/samples/, copied as they are.
 * Run by `npm pack` (prepack) or `npm run build`.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repoDir = path.resolve(packageDir, '../..');
const distDir = path.join(packageDir, 'dist');
const workDir = path.join(packageDir, 'build');
const declarationsDir = path.join(workDir, 'declarations');
const ENTRY_POINTS = ['index', 'testing'];

rmSync(distDir, { recursive: true, force: true });
rmSync(workDir, { recursive: true, force: true });

const tscBin = path.join(
  path.dirname(createRequire(import.meta.url).resolve('typescript/package.json')),
  'bin/tsc',
);
execFileSync(process.execPath, [tscBin, '-p', path.join(packageDir, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
moveDeclarations();

const { metafile } = await build({
  absWorkingDir: packageDir,
  entryPoints: Object.fromEntries(ENTRY_POINTS.map((name) => [name, `src/${name}.ts`])),
  outdir: distDir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['zod'],
  chunkNames: 'chunks/[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
});
writeBundledLicences(Object.keys(metafile.inputs));

mkdirSync(path.join(distDir, 'events/samples'), { recursive: true });
copyFileSync(
  path.join(repoDir, 'events/schema/okepay-payment-event.schema.json'),
  path.join(distDir, 'events/okepay-payment-event.schema.json'),
);
for (const name of readdirSync(path.join(repoDir, 'events/samples')).filter((file) =>
  file.endsWith('.json'),
)) {
  copyFileSync(path.join(repoDir, 'events/samples', name), path.join(distDir, 'events/samples', name));
}
rmSync(workDir, { recursive: true, force: true });

/**
 * Copies the declarations reachable from the entry points into dist/: the package's own from
 * `packages/okepay-events/src/` to `dist/`, the pipeline's from `functions/` to `dist/functions/`, with
 * every relative import rewritten to the new place and to `.js` (what a `.d.ts` beside `.js` is
 * imported as under every moduleResolution a consumer may use).
 */
function moveDeclarations(): void {
  const sourceDir = path.join(declarationsDir, 'packages/okepay-events/src');
  const destinationOf = (file: string): string => {
    if (file.startsWith(sourceDir + path.sep)) return path.join(distDir, path.relative(sourceDir, file));
    const relative = path.relative(declarationsDir, file);
    if (!relative.startsWith(`functions${path.sep}`)) {
      throw new Error(`A declaration outside src/ and functions/ is reachable: ${relative}`);
    }
    return path.join(distDir, relative);
  };
  const pending = ENTRY_POINTS.map((name) => path.join(sourceDir, `${name}.d.ts`));
  const done = new Set<string>();
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (done.has(file)) continue;
    done.add(file);
    if (!existsSync(file)) throw new Error(`Missing declaration ${path.relative(declarationsDir, file)}`);
    const destination = destinationOf(file);
    const text = readFileSync(file, 'utf8').replace(
      /(\bfrom\s+|\bimport\s*\(\s*)(['"])(\.{1,2}\/[^'"]+)\2/g,
      (_match, prefix: string, quote: string, specifier: string) => {
        const target = path.resolve(path.dirname(file), specifier).replace(/\.ts$/, '.d.ts');
        pending.push(target);
        let rewritten = path
          .relative(path.dirname(destination), destinationOf(target))
          .split(path.sep)
          .join('/')
          .replace(/\.d\.ts$/, '.js');
        if (!rewritten.startsWith('.')) rewritten = `./${rewritten}`;
        return `${prefix}${quote}${rewritten}${quote}`;
      },
    );
    mkdirSync(path.dirname(destination), { recursive: true });
    writeFileSync(destination, text);
  }
}

/** dist/THIRD_PARTY_LICENSES.txt: the licence of every npm package esbuild put into dist/. */
function writeBundledLicences(inputs: string[]): void {
  const packages = new Set(
    inputs.flatMap((input) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.slice(1, 2) ?? []),
  );
  const sections = [...packages].sort().map((name) => {
    const dir = path.join(repoDir, 'node_modules', name);
    const licenceFile = readdirSync(dir).find((file) => /^licen[sc]e/i.test(file));
    if (!licenceFile) throw new Error(`No licence file in ${dir} (bundled into dist/)`);
    const { version } = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
      version: string;
    };
    return `${name}@${version}\n\n${readFileSync(path.join(dir, licenceFile), 'utf8').trim()}\n`;
  });
  if (sections.length > 0) {
    writeFileSync(path.join(distDir, 'THIRD_PARTY_LICENSES.txt'), sections.join(`\n${'-'.repeat(72)}\n\n`));
  }
}
