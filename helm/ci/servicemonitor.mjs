// Validates ServiceMonitor objects (JSON lines on stdin) against the
// prometheus-operator CRD's schema, as packaged by
// @kubernetes-models/prometheus-operator (under $CRD_MODELS, the
// node_modules folder scripts/install-helm-tools prints).
// kubernetes-validate ships Kubernetes' own schemas only.
import { createInterface } from "node:readline";

const { ServiceMonitor } = await import(
  `${process.env.CRD_MODELS}/@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor.js`
);

let count = 0;
let failed = 0;
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const object = JSON.parse(line);
  count++;
  try {
    new ServiceMonitor(object).validate();
    console.log(`   ServiceMonitor ${object.metadata.name}: valid`);
  } catch (error) {
    failed++;
    console.error(`ServiceMonitor ${object.metadata.name}: ${error.message}`);
  }
}
if (count === 0) {
  console.error("no ServiceMonitor to validate");
  process.exit(1);
}
process.exit(failed ? 1 : 0);
