// The API explorer: renders the operations of /api-docs/swagger.json and
// sends them with the key and secret typed above (kept in this page only).
"use strict";

const el = (tag, attrs, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
};

async function send(method, path, params, inputs, body, out) {
  let url = path;
  const query = new URLSearchParams();
  for (const p of params) {
    const v = inputs[p.name].value;
    if (p.in === "path") {
      url = url.replace("{" + p.name + "}", encodeURIComponent(v));
    } else if (p.in === "query" && v !== "") {
      for (const one of (p.schema && p.schema.type === "array") ? v.split(",") : [v]) query.append(p.name, one);
    }
  }
  if ([...query].length) url += "?" + query.toString();
  const headers = {};
  const key = document.getElementById("key").value, secret = document.getElementById("secret").value;
  if (key !== "") headers["Authorization"] = "Basic " + btoa(unescape(encodeURIComponent(key + ":" + secret)));
  const init = { method, headers };
  if (body && body.value.trim() !== "") {
    headers["Content-Type"] = "application/json";
    init.body = body.value;
  }
  out.replaceChildren(el("span", {}, method + " " + url + " …"));
  try {
    const res = await fetch(url, init);
    let text = await res.text();
    try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (_) { /* not JSON */ }
    out.replaceChildren(el("div", { class: "status" }, method + " " + url + " → " + res.status + " " + res.statusText),
      el("pre", {}, text === "" ? "(no body)" : text));
  } catch (err) {
    out.replaceChildren(el("div", { class: "status" }, "request failed: " + err));
  }
}

function operation(path, method, op) {
  const M = method.toUpperCase();
  const params = op.parameters || [];
  const inputs = {};
  const form = el("div", { class: "op" });
  if (op.description) form.append(el("p", {}, op.description));
  for (const p of params) {
    const input = el("input", { type: "text", placeholder: (p.in === "path" ? "required" : "") });
    inputs[p.name] = input;
    form.append(el("label", { title: p.description || "" }, el("span", {}, p.name + " (" + p.in + ")"), input,
      " ", p.description || ""));
  }
  let body = null;
  if (op.requestBody) {
    body = el("textarea", { spellcheck: "false", placeholder: "JSON body" });
    form.append(el("label", {}, el("span", {}, "body (JSON)")), body);
  }
  const out = el("div");
  const button = el("button", { type: "button" }, "Send");
  button.addEventListener("click", () => send(M, path, params, inputs, body, out));
  form.append(button, out);
  const d = el("details", {}, el("summary", {}, el("span", { class: "m " + M }, M), " ", path, " — ", op.summary || ""), form);
  d.dataset.search = (M + " " + path + " " + (op.summary || "")).toLowerCase();
  return d;
}

async function main() {
  const info = document.getElementById("info");
  let doc;
  try {
    const res = await fetch("/api-docs/swagger.json");
    doc = await res.json();
  } catch (err) {
    info.textContent = "could not load /api-docs/swagger.json: " + err;
    return;
  }
  const ops = document.getElementById("ops");
  let n = 0;
  for (const path of Object.keys(doc.paths).sort()) {
    for (const method of ["get", "post", "put", "delete"]) {
      const op = doc.paths[path][method];
      if (op) { ops.append(operation(path, method, op)); n++; }
    }
  }
  info.textContent = (doc.info && doc.info.title || "API") + ": " + n + " operations. Errors are JSON {code, message}.";
  document.getElementById("filter").addEventListener("input", (ev) => {
    const q = ev.target.value.toLowerCase();
    for (const d of ops.children) d.hidden = q !== "" && !d.dataset.search.includes(q);
  });
}

main();
