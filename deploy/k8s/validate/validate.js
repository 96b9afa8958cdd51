// Validates every document of a Kubernetes manifest file against the
// Kubernetes OpenAPI schemas compiled into the kubernetes-models package.
// Usage: node validate.js FILE.yaml   (exit 1 when a document is invalid)
const fs = require("fs");
const yaml = require("js-yaml");
const docs = yaml.loadAll(fs.readFileSync(process.argv[2], "utf8")).filter(Boolean);
let bad = 0;
for (const d of docs) {
  const [group, version] = d.apiVersion.includes("/") ? d.apiVersion.split("/") : ["", d.apiVersion];
  const mod = group ? require(`kubernetes-models/${group}/${version}`) : require(`kubernetes-models/v1`);
  const Cls = mod[d.kind];
  try { new Cls(d).validate(); console.log(`ok ${d.apiVersion} ${d.kind} ${d.metadata.name}`); }
  catch (e) { bad++; console.log(`INVALID ${d.kind} ${d.metadata && d.metadata.name}: ${e.message}`); }
}
process.exit(bad ? 1 : 0);
