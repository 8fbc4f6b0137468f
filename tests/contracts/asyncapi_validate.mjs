// Parse an AsyncAPI document with the official parser and print its diagnostics as JSON.
//
// usage: node asyncapi_validate.mjs PARSER_PREFIX DOCUMENT
//
// PARSER_PREFIX is the folder `npm install --prefix` put @asyncapi/parser in; it is
// passed in because ES modules ignore NODE_PATH. The document is read through
// fromFile so relative $refs resolve against its own folder. Exit status: 0 when
// no diagnostic has error severity, 1 when one has, 2 when the parser cannot run.
import { createRequire } from 'node:module';
import path from 'node:path';

const [prefix, document] = process.argv.slice(2);
if (!prefix || !document) {
  console.error('usage: node asyncapi_validate.mjs PARSER_PREFIX DOCUMENT');
  process.exit(2);
}

const require = createRequire(path.join(path.resolve(prefix), 'package.json'));
const { Parser, fromFile, DiagnosticSeverity } = require('@asyncapi/parser');

const SEVERITY = ['error', 'warning', 'information', 'hint'];

try {
  const { document: parsed, diagnostics } = await fromFile(new Parser(), path.resolve(document)).parse();
  const report = diagnostics.map((d) => ({
    severity: SEVERITY[d.severity] ?? String(d.severity),
    code: String(d.code),
    message: d.message,
    path: d.path.join('/'),
  }));
  console.log(JSON.stringify({ parsed: parsed !== undefined, diagnostics: report }, null, 2));
  const failed = parsed === undefined || diagnostics.some((d) => d.severity === DiagnosticSeverity.Error);
  process.exit(failed ? 1 : 0);
} catch (error) {
  console.error(`parser failed: ${error.stack ?? error}`);
  process.exit(2);
}
