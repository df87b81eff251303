// The card preview: plain JavaScript, no framework, nothing from a CDN (markdown-it is vendored beside this file).
// Strings from a card or a patient reach the page through textContent or an attribute; card detail markdown is
// rendered by markdown-it with raw HTML off (it shows as text) and only http(s) and mailto links, as an EHR
// renders CommonMark/GFM, so a hostile condition name shows as text and cannot run.
"use strict";

const $ = (id) => document.getElementById(id);
const HOOKS = ["patient-view", "order-select", "order-sign"];
const INDICATOR = {critical: "Critical", warning: "Warning", info: "Info"};
const md = window.markdownit({html: false, linkify: true});
md.validateLink = (url) => /^(https?:|mailto:)/i.test(url.trim());

let demos = [];
// What the user typed or chose, per mode (and per demo patient), so that changing either never discards it.
const state = {mode: "demo", demoId: null, demo: {}, bundle: {pasted: "", hook: "patient-view", asOf: "", draft: ""},
               request: {pasted: "", asOf: ""}};

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  for (const child of children) node.append(child);  // strings become text nodes
  return node;
}

function safeUrl(url) {
  try {
    const parsed = new URL(url, window.location.href);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch (e) {
    return null;
  }
}

// Card detail (CommonMark/GFM) as DOM: markdown-it escapes any HTML in the text itself (html: false).
function cardMarkdown(text) {
  const root = el("div", {class: "detail"});
  root.innerHTML = md.render(text);
  for (const link of root.querySelectorAll("a")) {
    link.target = "_blank";
    link.rel = "noopener noreferrer";
  }
  return root;
}

// Provenance under the card (README "Card provenance"): the rule's url|version, the knowledge version, and the
// references of the chart entries the card rests on. Ids only, and shown as text.
function provenance(card) {
  const ext = card.extension ?? {};
  const rule = ext["org.backpain-cds.rule"];
  if (!rule) return null;
  const knowledge = ext["org.backpain-cds.knowledge"]?.version;
  const evidence = ext["org.backpain-cds.evidence"] ?? [];
  return el("p", {class: "source provenance"}, `Rule: ${rule}`, knowledge ? ` · knowledge ${knowledge}` : "",
    el("br"), `Evidence: ${evidence.length ? evidence.join(", ") : "none named"}`);
}

function renderCard(card) {
  const indicator = INDICATOR[card.indicator] ? card.indicator : "info";
  const topic = card.source?.topic ?? {};
  const node = el("article", {class: "card", "data-indicator": indicator, "data-topic": topic.code ?? ""});
  node.append(el("div", {class: "heading"}, el("span", {class: "indicator"}, INDICATOR[indicator]),
    el("span", {class: "topic"}, topic.display ?? topic.code ?? "")));
  node.append(el("p", {class: "summary"}, card.summary ?? ""));
  if (card.detail) node.append(cardMarkdown(card.detail));
  const source = el("p", {class: "source"}, "Source: ");
  const sourceUrl = safeUrl(card.source?.url ?? "");
  source.append(sourceUrl ? el("a", {href: sourceUrl, target: "_blank", rel: "noopener noreferrer"},
    card.source?.label ?? sourceUrl) : (card.source?.label ?? ""));
  node.append(source);
  const prov = provenance(card);
  if (prov) node.append(prov);
  for (const suggestion of card.suggestions ?? []) {
    node.append(el("button", {type: "button", class: "suggestion", title: "In an EHR this would apply the actions"},
      suggestion.label ?? "suggestion"));
    const actions = el("ul", {class: "actions"});
    for (const action of suggestion.actions ?? []) actions.append(el("li", {}, `${action.type}: ${action.description}`));
    node.append(actions);
  }
  for (const link of card.links ?? []) {
    const href = safeUrl(link.url ?? "");
    if (href) node.append(el("a", {class: "link", href, target: "_blank", rel: "noopener noreferrer"}, link.label));
  }
  if (card.overrideReasons?.length) {
    const reasons = el("ul", {class: "overrides"});
    for (const reason of card.overrideReasons) reasons.append(el("li", {}, `Override: ${reason.display ?? reason.code}`));
    node.append(reasons);
  }
  return node;
}

function show(result) {
  $("request-json").textContent = JSON.stringify(result.request, null, 2);
  $("response-json").textContent = JSON.stringify(result.response, null, 2);
  const cards = $("cards");
  cards.replaceChildren();
  if (result.status !== 200) {
    $("status").textContent = `(HTTP ${result.status})`;
    cards.append(el("p", {class: "error"}, result.response?.message ?? "error"));
    return;
  }
  const order = {critical: 0, warning: 1, info: 2};  // as EHRs sort them
  const sorted = [...result.response.cards].sort((a, b) => (order[a.indicator] ?? 3) - (order[b.indicator] ?? 3));
  $("status").textContent = `(${sorted.length})`;
  if (!sorted.length) cards.append(el("p", {}, "No cards for this patient."));
  for (const card of sorted) cards.append(renderCard(card));
}

function demoDefaults(demo) {
  return {hook: demo.hook, asOf: demo.asOf, draft: demo.draftOrder ? JSON.stringify(demo.draftOrder, null, 1) : ""};
}

// The form into `state`, for the current mode (and demo patient).
function save() {
  const form = {hook: $("hook").value, asOf: $("as-of").value, draft: $("draft").value, pasted: $("pasted").value};
  if (state.mode === "demo") {
    if (state.demoId) state.demo[state.demoId] = {hook: form.hook, asOf: form.asOf, draft: form.draft};
  } else if (state.mode === "bundle") {
    state.bundle = form;
  } else {
    state.request = {pasted: form.pasted, asOf: form.asOf};
  }
}

// `state` into the form, for the current mode (and demo patient).
function load() {
  const mode = state.mode;
  $("demo-fields").hidden = mode !== "demo";
  $("pasted-fields").hidden = mode === "demo";
  $("draft-fields").hidden = mode === "request";  // a pasted request carries its own draft orders
  $("hook").disabled = mode === "request";        // ... and names its own hook
  if (mode === "demo") {
    const demo = demos.find((d) => d.id === state.demoId);
    if (!demo) return;
    const values = state.demo[demo.id] ?? demoDefaults(demo);
    $("demo-about").textContent = demo.about;
    $("hook").value = values.hook;
    $("as-of").value = values.asOf;
    $("draft").value = values.draft;
  } else {
    const values = state[mode];
    $("pasted-label").textContent = mode === "bundle" ? "FHIR patient Bundle (JSON)" : "CDS Hooks request (JSON)";
    $("pasted").placeholder = mode === "bundle" ? '{"resourceType": "Bundle", "entry": [...]}'
      : '{"hook": "patient-view", "hookInstance": "...", "context": {...}, "prefetch": {...}}';
    $("pasted").value = values.pasted;
    $("as-of").value = values.asOf;
    if (mode === "bundle") {
      $("hook").value = values.hook;
      $("draft").value = values.draft;
    }
  }
  readPasted();
}

// "request" or "bundle" when the text is a JSON object that looks like one, else null.
function kindOf(text) {
  let parsed = null;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return null;
  }
  if (parsed === null || typeof parsed !== "object") return null;
  if ("hook" in parsed && "context" in parsed) return "request";
  return parsed.resourceType === "Bundle" ? "bundle" : null;
}

// What the pasted text is: in request mode the hook is read from it; a paste in the wrong mode is pointed out.
function readPasted() {
  const looksLikeRequest = kindOf($("pasted").value) === "request";
  const parsed = looksLikeRequest ? JSON.parse($("pasted").value) : null;
  let help = "";
  let note = "";
  if (state.mode === "request") {
    if (looksLikeRequest && HOOKS.includes(parsed.hook)) {
      $("hook").value = parsed.hook;
      note = `Read from the pasted request: ${parsed.hook}.`;
    } else {
      note = "Read from the pasted request's \"hook\".";
    }
  } else if (state.mode === "bundle" && looksLikeRequest) {
    help = "This looks like a CDS Hooks request: choose \"Paste a CDS Hooks request\" (your text goes with you).";
  } else if (state.mode === "bundle") {
    help = "One patient's resources; every prefetch key is answered from it.";
  }
  $("pasted-help").textContent = help;
  $("hook-note").textContent = note;
}

function changeMode(event) {
  const previous = state.mode;
  const pastedText = $("pasted").value;
  save();
  state.mode = event.target.value;
  // A request pasted in Bundle mode (or the reverse) follows the user to its own mode when that one is empty.
  if (previous !== "demo" && state.mode !== "demo" && kindOf(pastedText) === state.mode && !state[state.mode].pasted) {
    state[state.mode].pasted = pastedText;
    state[previous].pasted = "";
  }
  load();
  const left = previous === "demo" ? "" : state[previous].pasted;
  $("kept").textContent = left ? `Your pasted ${previous === "bundle" ? "Bundle" : "request"} is kept: choose it ` +
    "again to get it back." : "";
}

function changeDemo() {
  save();
  state.demoId = $("demo").value;
  load();
}

async function run() {
  save();
  const body = {asOf: $("as-of").value || undefined};
  try {
    if (state.mode === "demo") {
      body.hook = $("hook").value;
      body.demo = state.demoId;
      body.draftOrder = $("draft").value.trim() ? JSON.parse($("draft").value) : null;
    } else if (state.mode === "bundle") {
      body.hook = $("hook").value;
      body.bundle = JSON.parse($("pasted").value);
      if ($("draft").value.trim()) body.draftOrder = JSON.parse($("draft").value);
    } else {
      body.request = JSON.parse($("pasted").value);  // the service reads the hook from it
    }
  } catch (e) {
    show({status: 400, request: null, response: {message: `That is not valid JSON: ${e.message}`}});
    return;
  }
  const response = await fetch("/preview/evaluate", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify(body)});
  const result = await response.json();
  show(response.ok ? result : {status: response.status, request: body, response: result});
  const top = $("results").getBoundingClientRect().top;
  if (top < 0 || top > window.innerHeight) $("results").scrollIntoView({block: "start"});  // cards above controls
}

async function start() {
  demos = await (await fetch("/preview/demo-patients")).json();
  for (const demo of demos) $("demo").append(el("option", {value: demo.id}, demo.title));
  state.demoId = demos[0]?.id ?? null;
  for (const radio of document.querySelectorAll("input[name=source]")) radio.addEventListener("change", changeMode);
  $("demo").addEventListener("change", changeDemo);
  $("pasted").addEventListener("input", readPasted);
  $("run").addEventListener("click", run);
  load();
  await run();  // the first demo patient's cards, so the page opens on what it is for
  document.body.dataset.ready = "true";
}

window.cardMarkdown = cardMarkdown;  // the browser test renders escaped chart text through it
start();
