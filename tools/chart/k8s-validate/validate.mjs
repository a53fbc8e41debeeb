// Validates rendered Kubernetes objects (a JSON array of {source, object}
// from tools/chart/render -output=json, on stdin) against Kubernetes' own
// schemas, the way `kubectl apply --validate=strict` would judge them:
//  1. each object's model from kubernetes-models (JSON schemas generated from
//     the Kubernetes OpenAPI spec, compiled to validators) checks types,
//     formats, enums and required fields;
//  2. fields the API does not know are errors (the compiled validators let
//     them pass; the API server's strict field validation does not): the
//     object is walked against the models' declared properties, read from the
//     package's type declarations (which are generated from the same spec).
// Exit status 1 and one line per problem when anything fails.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const MODELS = {
  v1: "kubernetes-models/v1",
  "apps/v1": "kubernetes-models/apps/v1",
  "autoscaling/v2": "kubernetes-models/autoscaling/v2",
  "policy/v1": "kubernetes-models/policy/v1",
  "networking.k8s.io/v1": "kubernetes-models/networking.k8s.io/v1",
  "monitoring.coreos.com/v1": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1",
};

const interfaces = new Map(); // .d.ts path -> {props: Map(name -> type text), imports: Map(name -> path)}

function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

function parseDts(file) {
  if (interfaces.has(file)) return interfaces.get(file);
  const text = stripComments(readFileSync(file, "utf8"));
  const imports = new Map();
  for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
    for (const name of m[1].split(",").map((s) => s.trim()).filter(Boolean)) {
      imports.set(name, m[2]);
    }
  }
  const start = text.search(/export interface \w+[^{]*\{/);
  let props = null;
  if (start >= 0) {
    props = new Map();
    let i = text.indexOf("{", start) + 1;
    let depth = 1, current = "";
    for (; i < text.length && depth > 0; i++) {
      const c = text[i];
      if (c === "{" || c === "<" || c === "(") depth++;
      if (c === "}" || c === ">" || c === ")") depth--;
      if (depth === 0) break;
      if (c === ";" && depth === 1) {
        const m = current.trim().match(/^"([^"]+)"\??:\s*([\s\S]*)$/);
        if (m) props.set(m[1], m[2].trim());
        current = "";
      } else {
        current += c;
      }
    }
  }
  const entry = { props, imports, file };
  interfaces.set(file, entry);
  return entry;
}

function resolveImport(fromFile, spec) {
  let js;
  if (spec.startsWith(".")) js = path.resolve(path.dirname(fromFile), spec);
  else js = fileURLToPath(import.meta.resolve(spec.endsWith(".js") ? spec : spec));
  return js.replace(/\.js$/, "") + ".d.ts";
}

// The declaration a property's type names, or null for a leaf (string,
// number, union, IntOrString, Quantity, ...).
function typeTarget(entry, typeText) {
  let t = typeText.replace(/\s+/g, " ").trim();
  let kind = "object";
  let m = t.match(/^Array<(\w+)>$/);
  if (m) { kind = "array"; t = m[1]; }
  else if ((m = t.match(/^\{ \[key: string\]: (\w+); ?\}$/))) { kind = "map"; t = m[1]; }
  if (!/^I\w+$/.test(t) || !entry.imports.has(t)) return null;
  return { kind, file: resolveImport(entry.file, entry.imports.get(t)) };
}

function strictWalk(value, file, where, problems) {
  const entry = parseDts(file);
  if (!entry.props) return; // a type alias (IntOrString, Quantity, ...): a leaf
  if (value === null || typeof value !== "object" || Array.isArray(value)) return; // types: step 1
  for (const [key, child] of Object.entries(value)) {
    if (!entry.props.has(key)) {
      problems.push(`${where}/${key}: unknown field (not in ${path.basename(file, ".d.ts")})`);
      continue;
    }
    const target = typeTarget(entry, entry.props.get(key));
    if (!target || child === null) continue;
    if (target.kind === "array" && Array.isArray(child)) {
      child.forEach((item, i) => strictWalk(item, target.file, `${where}/${key}/${i}`, problems));
    } else if (target.kind === "map" && typeof child === "object") {
      for (const [k, v] of Object.entries(child)) strictWalk(v, target.file, `${where}/${key}/${k}`, problems);
    } else if (target.kind === "object") {
      strictWalk(child, target.file, `${where}/${key}`, problems);
    }
  }
}

async function main() {
  const docs = JSON.parse(readFileSync(0, "utf8"));
  const problems = [];
  let checked = 0;
  for (const { source, object } of docs) {
    const name = `${source}: ${object?.kind}/${object?.metadata?.name}`;
    const base = MODELS[object?.apiVersion];
    if (!base || !/^[A-Za-z]+$/.test(object?.kind ?? "")) {
      problems.push(`${name}: no Kubernetes schema known for apiVersion ${object?.apiVersion} kind ${object?.kind}`);
      continue;
    }
    let mod;
    try {
      mod = await import(`${base}/${object.kind}`);
    } catch (e) {
      problems.push(`${name}: no schema for ${object.apiVersion} ${object.kind} (${e.code ?? e.message})`);
      continue;
    }
    const Model = mod[object.kind];
    try {
      new Model(object).validate();
    } catch (e) {
      problems.push(`${name}: ${e.message}`);
    }
    const dts = fileURLToPath(import.meta.resolve(`${base}/${object.kind}`)).replace(/\.js$/, ".d.ts");
    strictWalk(object, dts, name, problems);
    checked++;
  }
  for (const p of problems) console.log(p);
  console.log(`k8s-validate: ${checked} objects checked against Kubernetes schemas, ${problems.length} problems`);
  process.exit(problems.length ? 1 : 0);
}

main();
