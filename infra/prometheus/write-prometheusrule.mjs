#!/usr/bin/env node
// Writes k8s/components/prometheus-operator/prometheusrule.yaml from prometheus/alerts.yml, so the
// Prometheus Operator gets the same rules as compose's Prometheus. test/infra.test.ts fails when
// the committed copy differs from what this writes.
//   node infra/prometheus/write-prometheusrule.mjs [OUTPUT]
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const infra = join(dirname(fileURLToPath(import.meta.url)), '..');
const output = process.argv[2] ?? join(infra, 'k8s/components/prometheus-operator/prometheusrule.yaml');
const { groups } = parse(readFileSync(join(infra, 'prometheus/alerts.yml'), 'utf8'));
const rule = {
  apiVersion: 'monitoring.coreos.com/v1',
  kind: 'PrometheusRule',
  metadata: { name: 'vigil', labels: { 'app.kubernetes.io/name': 'vigil' } },
  spec: { groups },
};
const header = [
  '# GENERATED from infra/prometheus/alerts.yml, the one place to edit the rules, by',
  '# `node infra/prometheus/write-prometheusrule.mjs`; test/infra.test.ts fails when this copy differs.',
];
writeFileSync(output, `${header.join('\n')}\n${stringify(rule, { lineWidth: 140, minContentWidth: 40 })}`);
