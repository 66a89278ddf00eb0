// Checks the MQTT contract (firmware/contract) with two third-party tools the fleet's integrators use:
//   1. Ajv's JSON Schema 2020-12 validator, in strict mode, compiles every schemas/*.json;
//   2. @asyncapi/parser, the AsyncAPI reference parser, parses asyncapi.yaml (with its $refs to schemas/*.json).
// Prints every error and exits 1 if there is any; exits 0 with a one-line summary otherwise.
//
//   npm ci && node check.mjs [contract-dir]     (contract-dir defaults to ../../firmware/contract)

import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { Parser, fromFile } from "@asyncapi/parser";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const here = dirname(fileURLToPath(import.meta.url));
const contractDir = resolve(process.argv[2] ?? join(here, "..", "..", "firmware", "contract"));
const schemaDir = join(contractDir, "schemas");

// The payload schemas are JSON Schema 2020-12 as pydantic writes them; the AsyncAPI document says so per message.
const SCHEMA_FORMAT = "application/schema+json;version=draft-2020-12";

function strictAjv() {
  // strict: true turns every strict-mode finding (unknown keyword, a keyword without its `type`, a `required`
  // property not defined beside it, union types, ...) into an error instead of a log line or nothing.
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  return ajv;
}

const errors = [];

// ---- 1. every schema file, on its own, through Ajv 2020 strict ---------------------------------------------
const files = readdirSync(schemaDir).filter((f) => f.endsWith(".json")).sort();
if (files.length === 0) errors.push(`ajv: no schemas in ${schemaDir}`);
for (const file of files) {
  let schema;
  try {
    schema = JSON.parse(readFileSync(join(schemaDir, file), "utf8"));
  } catch (e) {
    errors.push(`ajv: ${file}: not JSON: ${e.message}`);
    continue;
  }
  try {
    strictAjv().compile(schema);
  } catch (e) {
    errors.push(`ajv: ${file}: ${e.message}`);
  }
}

// ---- 2. the AsyncAPI document through the reference parser -----------------------------------------------
// Twice: as the parser ships (an integrator's view: any error fails), and with a schema parser registered for
// the payloads' declared format. The parser ships none for JSON Schema 2020-12 and, for an AsyncAPI 3
// document, then leaves such payloads unchecked; the one registered here compiles each payload, $refs
// resolved, with the same strict Ajv (AsyncAPI 3 calls only `parse`; a throw there is an error diagnostic).
const compiledPayloads /* paths of the payloads declared in SCHEMA_FORMAT */ = new Set();
function compilePayload(input) {
  compiledPayloads.add(input.path.join("/"));
  strictAjv().compile(input.data);
}
const jsonSchema2020 = {
  getMimeTypes: () => [SCHEMA_FORMAT],
  async validate(input) {
    try {
      compilePayload(input);
      return [];
    } catch (e) {
      return [{ message: `payload schema: ${e.message}`, path: input.path }];
    }
  },
  async parse(input) {
    try {
      compilePayload(input);
    } catch (e) {
      throw new Error(`payload schema at /${input.path.join("/")}: ${e.message}`);
    }
    return input.data;
  },
};
const SEVERITY = ["error", "warning", "info", "hint"];
const asyncapiPath = join(contractDir, "asyncapi.yaml");
let document;
let notes = 0;
for (const [label, parser] of [["parser", new Parser()],
                               ["parser+2020", new Parser({ schemaParsers: [jsonSchema2020] })]]) {
  const parsed = await fromFile(parser, asyncapiPath).parse();
  for (const d of parsed.diagnostics) {
    const line = `asyncapi (${label}): ${SEVERITY[d.severity] ?? d.severity}: ${d.code}: ${d.message.split(", stack: ")[0]} ` +
                 `at /${(d.path ?? []).join("/")}`;
    if (d.severity === 0) errors.push(line);
    else {
      notes += 1;
      console.log(line);
    }
  }
  if (!parsed.document && !errors.some((e) => e.startsWith(`asyncapi (${label})`))) {
    errors.push(`asyncapi (${label}): the parser returned no document`);
  }
  document = parsed.document ?? document;
}
if (document && compiledPayloads.size !== document.allMessages().length) {
  errors.push(`asyncapi: ${document.allMessages().length} messages but ${compiledPayloads.size} payloads declared ` +
              `as ${SCHEMA_FORMAT} (every message payload must declare that schemaFormat)`);
}

if (errors.length) {
  for (const e of errors) console.error(e);
  console.error(`contract-check: ${errors.length} error(s)`);
  process.exit(1);
}
const messages = document.allMessages().length;
console.log(`contract-check: ok: asyncapi.yaml parses (${messages} messages, ${notes} note(s)); ` +
            `${files.length} schemas compile with Ajv 2020 strict`);
