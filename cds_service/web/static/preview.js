// The card preview: plain JavaScript, no framework, nothing from a CDN.
// Every string from a card or a patient reaches the page through textContent or an attribute, never innerHTML:
// card detail markdown is parsed here into DOM nodes (paragraphs, lists, bold, italics, http(s) links only), so a
// hostile condition name shows as text and cannot run.
"use strict";

const $ = (id) => document.getElementById(id);
let demos = [];

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

// Inline markdown: a backslash-escaped punctuation character (CommonMark: the character itself; chart text in a card
// comes escaped this way), **bold**, *italic* or _italic_ (not inside words, as in GFM), `code`,
// [label](http(s) url). Everything else is text.
function inline(text) {
  const out = [];
  const pattern = /\\([!-\/:-@\[-`{-~])|\*\*((?:\\.|[^*])+)\*\*|\*([^*\s][^*]*)\*|(?<!\w)_([^_]+)_(?!\w)|`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\)/g;
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(el("strong", {}, ...inline(m[2])));
    else if (m[3] !== undefined || m[4] !== undefined) out.push(el("em", {}, m[3] ?? m[4]));
    else if (m[5] !== undefined) out.push(el("code", {}, m[5]));
    else {
      const href = safeUrl(m[7]);
      out.push(href ? el("a", {href, target: "_blank", rel: "noopener noreferrer"}, m[6]) : m[0]);
    }
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

function markdown(text) {
  const root = el("div", {class: "detail"});
  let list = null;
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    const item = line.match(/^\s*[-*]\s+(.*)$/);
    if (item) {
      if (!list) root.append(list = el("ul"));
      list.append(el("li", {}, ...inline(item[1])));
      continue;
    }
    list = null;
    if (!line.trim()) continue;
    const heading = line.match(/^#{1,6}\s+(.*)$/);
    root.append(heading ? el("p", {}, el("strong", {}, ...inline(heading[1]))) : el("p", {}, ...inline(line)));
  }
  return root;
}

function renderCard(card) {
  const topic = card.source?.topic?.code ?? "";
  const node = el("article", {class: "card", "data-indicator": card.indicator ?? "info", "data-topic": topic});
  node.append(el("div", {class: "indicator"}, `${card.indicator ?? ""} · ${topic}`));
  node.append(el("p", {class: "summary"}, card.summary ?? ""));
  if (card.detail) node.append(markdown(card.detail));
  const source = el("p", {class: "source"}, "Source: ");
  const sourceUrl = safeUrl(card.source?.url ?? "");
  source.append(sourceUrl ? el("a", {href: sourceUrl, target: "_blank", rel: "noopener noreferrer"},
    card.source?.label ?? sourceUrl) : (card.source?.label ?? ""));
  node.append(source);
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

function selectedDemo() {
  return demos.find((d) => d.id === $("demo").value);
}

function syncDemo() {
  const demo = selectedDemo();
  if (!demo) return;
  $("demo-about").textContent = demo.about;
  $("hook").value = demo.hook;
  $("as-of").value = demo.asOf;
  $("draft").value = demo.draftOrder ? JSON.stringify(demo.draftOrder, null, 1) : "";
}

async function run() {
  const source = document.querySelector("input[name=source]:checked").value;
  const body = {hook: $("hook").value, asOf: $("as-of").value || undefined};
  try {
    if (source === "demo") body.demo = $("demo").value;
    else if (source === "bundle") body.bundle = JSON.parse($("pasted").value);
    else body.request = JSON.parse($("pasted").value);
    if (source !== "request" && $("draft").value.trim()) body.draftOrder = JSON.parse($("draft").value);
  } catch (e) {
    show({status: 400, request: null, response: {message: `That is not valid JSON: ${e.message}`}});
    return;
  }
  const response = await fetch("/preview/evaluate", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify(body)});
  const result = await response.json();
  show(response.ok ? result : {status: response.status, request: body, response: result});
}

async function start() {
  demos = await (await fetch("/preview/demo-patients")).json();
  for (const demo of demos) $("demo").append(el("option", {value: demo.id}, demo.title));
  $("demo").addEventListener("change", syncDemo);
  $("run").addEventListener("click", run);
  syncDemo();
  document.body.dataset.ready = "true";
}

start();
