#!/usr/bin/env node
// Builds a componentize-js guest against the project's WIT (world
// `wasi-memfd:memfd/command`: wasi:cli/command@0.2.0 plus memfd), with the
// pinned componentize-js that scripts/toolchains.sh installs into
// target/js (WASI_MEMFD_NODE_MODULES names another node_modules):
//
//     node guest/js/componentize.mjs SOURCE.js OUT.wasm
//
// Run it from a directory that holds SOURCE.js and every module it imports
// (the repository root for the examples and tests): componentize-js maps
// the current directory into the build, so relative imports such as
// '../../guest/js/wasi-memfd.js' resolve inside it.
import { dirname, join, resolve } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
if (args.length !== 2) {
  console.error('usage: node guest/js/componentize.mjs SOURCE.js OUT.wasm');
  process.exit(2);
}
const [source, out] = args;
const nodeModules = process.env.WASI_MEMFD_NODE_MODULES || join(root, 'target', 'js', 'node_modules');
const entry = join(nodeModules, '@bytecodealliance', 'componentize-js', 'src', 'componentize.js');
let componentize;
try {
  ({ componentize } = await import(pathToFileURL(entry).href));
} catch (e) {
  console.error(`componentize.mjs: cannot load componentize-js from ${entry} (run \`source scripts/toolchains.sh\`): ${e.message}`);
  process.exit(1);
}
const { component } = await componentize({
  sourcePath: resolve(source),
  witPath: join(root, 'wit'),
  worldName: 'command',
  disableFeatures: ['http', 'fetch-event'],
});
await writeFile(out, component);
