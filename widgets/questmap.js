// The quest map: an SVG drawing of a quest's nodes and paths, with pan, pinch and
// zoom, and a list view of the same steps. It only draws and reports clicks (the
// `selected` trait); the layout (positions, wrapped titles, edge routes) comes
// from Python, and every decision is made there by the classroom service. After an
// action Python sends only the states that changed (`patch`), not the node list.

const NS = "http://www.w3.org/2000/svg";
const NODE_W = 170;
const NODE_H = 50;
const FAR = 0.3; // below this zoom, titles are too small to read: draw boxes only

const STATE_LABEL = {
  locked: "locked", available: "open", in_progress: "in progress",
  pending_review: "waiting for review", returned: "returned", success: "done",
  fail: "not passed", closed: "closed", draft: "", problem: "has a problem",
};
// the words of the list view (a sentence for a student, not a code)
const STATE_WORDS = {
  locked: "Locked", available: "Open", in_progress: "Started", pending_review: "Waiting for your teacher",
  returned: "Back from your teacher", success: "Done", fail: "Not passed yet", closed: "Not on your path",
};

// 16x16 line icons, one per built-in kind; plugin kinds may send their own path.
const ICONS = {
  story: "M2 3.5h4.5A1.5 1.5 0 0 1 8 5v8.5a1.5 1.5 0 0 0-1.5-1.5H2zM14 3.5H9.5A1.5 1.5 0 0 0 8 5v8.5a1.5 1.5 0 0 1 1.5-1.5H14z",
  task: "M3 3h10v10H3zM5.5 8.2l1.8 1.8 3.4-4",
  choice: "M8 14V8.5M8 8.5L3.5 3M8 8.5L12.5 3M8 8.5V2.5",
  quiz: "M5.5 5.5a2.5 2.5 0 1 1 3.5 2.3c-.6.3-1 .8-1 1.5V10.5M8 12.5v.5",
  gate: "M8 1.8l5.2 1.9v4.2c0 3.3-2.3 5.2-5.2 6.3C5.1 13.1 2.8 11.2 2.8 7.9V3.7z",
  end: "M4 14.5V2M4 2.5h8l-2 3 2 3H4",
  code: "M5.5 4.5L2 8l3.5 3.5M10.5 4.5L14 8l-3.5 3.5",
};

// a symbol beside each state's word, so colour is never the only sign of a state
const STATE_MARK = {
  locked: "🔒", available: "○", in_progress: "◐", pending_review: "⏳", returned: "↩",
  success: "✓", fail: "✗", closed: "–", draft: "", problem: "⚠",
};
// the page's language: English here, the words the kernel sent (model "words") on screen
let WORDS = {};
const t = (s) => (s && WORDS[s]) || s;
const reduceMotion = () => typeof matchMedia === "function" && matchMedia("(prefers-reduced-motion: reduce)").matches;

function nodeLabel(n) {
  // what a screen reader says for a node: its title, its state and why it is locked
  const state = n.state || "draft";
  const words = t(STATE_WORDS[state] ?? STATE_LABEL[state] ?? state);
  const locked = state === "locked" || state === "closed";
  return [String(n.title || n.id), words, locked && n.info ? n.info : ""].filter(Boolean).join(". ");
}

const WHEN_MARK = { success: "✓", fail: "✗", retry: "↺", done: "" };
const WHEN_TITLE = { success: "if passed", fail: "if not passed yet", retry: "back to try again", done: "" };
const ASPECTS = [0.6, 0.8, 1.0, 1.3, 1.6, 2.0, 2.6];

function el(tag, attrs = {}, parent = null) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ESC[c]);

// --- geometry -----------------------------------------------------------------------

const W = (n) => n.w ?? NODE_W;
const H = (n) => n.h ?? NODE_H;

function wrapTitle(title, max = 19) {
  // only for nodes that come without lines (the editor's draft map): words to lines
  const words = String(title).split(/\s+/).filter(Boolean);
  const lines = [];
  let line = "";
  for (const word of words) {
    if (line && (line + " " + word).length > max) { lines.push(line); line = word; }
    else line = line ? line + " " + word : word;
  }
  if (line) lines.push(line);
  return lines.length ? lines.slice(0, 3) : [String(title)];
}

function edgePath(a, b, when) {
  // Plain curves for maps whose nodes were placed by hand (no route from Python).
  const aw = W(a), ah = H(a), bw = W(b), bh = H(b);
  if (when === "retry") {
    const sx = a.x + aw / 2, sy = a.y + ah;
    const tx = b.x + bw / 2, ty = b.y + bh;
    const dip = Math.max(sy, ty) + 46;
    return { d: `M${sx},${sy} C${sx},${dip} ${tx},${dip} ${tx},${ty + 2}`, mx: (sx + tx) / 2, my: dip - 10 };
  }
  const dx = (b.x - a.x), dy = (b.y - a.y);
  if (Math.abs(dy) > ah * 1.2 && Math.abs(dy) > Math.abs(dx) * 0.5) {
    const down = dy > 0;
    const x1 = a.x + aw / 2, y1 = down ? a.y + ah : a.y;
    const x2 = b.x + bw / 2, y2 = down ? b.y - 2 : b.y + bh + 2;
    const my = (y1 + y2) / 2;
    return { d: `M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2}`, mx: (x1 + x2) / 2, my };
  }
  if (dx >= 0) {
    const x1 = a.x + aw, y1 = a.y + ah / 2, x2 = b.x, y2 = b.y + bh / 2;
    const c = Math.max(40, (x2 - x1) / 2);
    return { d: `M${x1},${y1} C${x1 + c},${y1} ${x2 - c},${y2} ${x2 - 2},${y2}`, mx: (x1 + x2) / 2, my: (y1 + y2) / 2 };
  }
  const x1 = a.x, y1 = a.y + ah / 2, x2 = b.x + bw, y2 = b.y + bh / 2;
  const c = Math.max(40, (x1 - x2) / 2);
  return { d: `M${x1},${y1} C${x1 - c},${y1} ${x2 + c},${y2} ${x2 + 2},${y2}`, mx: (x1 + x2) / 2, my: (y1 + y2) / 2 };
}

// --- drawing (markup strings: one parse for the whole map is much faster than
// thousands of createElementNS calls) --------------------------------------------------

function edgesMarkup(edges, byId, editable, selectedEdge, far = false) {
  const out = [];
  edges.forEach((e, i) => {
    const a = byId.get(e.source), b = byId.get(e.target);
    if (!a || !b) return;
    const when = e.when || "done";
    let d, mx, my;
    if (e.path) { d = e.path; [mx, my] = e.mark || [0, 0]; }
    else ({ d, mx, my } = edgePath(a, b, when));
    const index = e.index ?? i;
    out.push(`<g class="qe-edge qe-when-${esc(when)}${index === selectedEdge ? " qe-edge-selected" : ""}" data-source="${esc(e.source)}" data-target="${esc(e.target)}" data-index="${index}">`);
    if (editable) out.push(`<path d="${esc(d)}" class="qe-edge-hit"/>`);
    // arrowheads are too small to see from far away, and markers are slow to paint
    out.push(far ? `<path d="${esc(d)}"/>` : `<path d="${esc(d)}" marker-end="url(#qe-arrow-${esc(when)})"/>`);
    if (WHEN_MARK[when] && !far) {
      out.push(`<circle cx="${mx}" cy="${my}" r="9" class="qe-edge-badge"/><text x="${mx}" y="${my + 4}" text-anchor="middle" class="qe-edge-mark">${WHEN_MARK[when]}</text>`);
    }
    if (WHEN_TITLE[when]) out.push(`<title>${esc(t(WHEN_TITLE[when]))}</title>`);
    out.push("</g>");
  });
  return out.join("");
}

function nodeMarkup(n, { selected, current, editable, counts, far, focusable }) {
  const state = n.state || "draft";
  const w = W(n), h = H(n);
  const cls = `qe-node qe-state-${esc(state)} qe-kind-${esc(n.kind)}${n.id === selected ? " qe-selected" : ""}${n.id === current ? " qe-current" : ""}`;
  const title = String(n.title || n.id);
  const lines = n.lines || wrapTitle(title);
  const out = [`<g class="${cls}" transform="translate(${n.x},${n.y})" tabindex="${n.id === focusable ? 0 : -1}" role="button" data-id="${esc(n.id)}" data-state="${esc(state)}" aria-label="${esc(nodeLabel(n))}"${n.id === selected ? ' aria-current="true"' : ""}>`];
  if (n.id === current) out.push(`<rect x="-6" y="-6" width="${w + 12}" height="${h + 12}" rx="14" class="qe-current-ring"/>`);
  if (far) { // too small to read: the box in its state colour is all that shows
    out.push(`<rect width="${w}" height="${h}" rx="10" class="qe-box qe-box-far"/></g>`);
    return out.join("");
  }
  out.push(`<rect x="-5" y="-5" width="${w + 10}" height="${h + 10}" rx="14" class="qe-focus-ring"/>`);
  out.push(`<rect width="${w}" height="${h}" rx="10" class="qe-box"/><rect width="40" height="${h}" rx="10" class="qe-band"/>`);
  out.push(`<path d="${esc(n.icon || ICONS[n.kind] || "M8 3a5 5 0 1 0 0.01 0z")}" class="qe-icon" transform="translate(10,${h / 2 - 10}) scale(1.25)"/>`);
  // the title, one tspan per line; a line that ended at a space keeps it, so the
  // element's text is the title as written
  out.push(`<text x="48" y="${19}" class="qe-title">`);
  let at = 0;
  lines.forEach((line, k) => {
    at += line.length;
    const space = k < lines.length - 1 && title[at] === " " ? " " : "";
    if (space) at += 1;
    out.push(`<tspan x="48" dy="${k ? 15 : 0}">${esc(line + space)}</tspan>`);
  });
  out.push("</text>");
  const mark = n.sub == null && STATE_MARK[state] ? `${STATE_MARK[state]} ` : "";
  out.push(`<text x="48" y="${h - 9}" class="qe-sub">${esc(mark + (n.sub ?? t(STATE_LABEL[state] ?? state)))}</text>`);
  if (editable) out.push(`<circle cx="${w}" cy="${h / 2}" r="7" class="qe-port" data-port="${esc(n.id)}"/>`);
  const c = counts[n.id];
  if (c) {
    let x = 0;
    for (const [kind, value] of [["success", c.success], ["fail", c.fail], ["here", c.here], ["waiting", c.not_reached]]) {
      if (!value) continue;
      const cw = 10 + String(value).length * 7;
      out.push(`<rect x="${x}" y="${h + 4}" width="${cw}" height="16" rx="8" class="qe-count qe-count-${kind}"/><text x="${x + cw / 2}" y="${h + 16}" text-anchor="middle" class="qe-count-text">${esc(value)}</text>`);
      x += cw + 3;
    }
  }
  out.push("</g>");
  return out.join("");
}

function listMarkup(nodes, selected, current) {
  // every step in order, with its state and why it is locked: a map for a small screen
  // or a screen reader
  const out = [`<ol class="qe-steps" aria-label="${esc(t("Steps of the quest"))}">`];
  for (const n of nodes) {
    const state = n.state || "draft";
    const locked = state === "locked" || state === "closed";
    out.push(`<li class="qe-step qe-state-${esc(state)}${n.id === selected ? " qe-selected" : ""}${n.id === current ? " qe-current" : ""}">`
      + `<button type="button" class="qe-step-button" data-id="${esc(n.id)}" data-state="${esc(state)}" aria-current="${n.id === selected ? "true" : "false"}">`
      + `<span class="qe-step-dot" aria-hidden="true"></span>`
      + `<span class="qe-step-main"><span class="qe-step-title">${esc(n.title || n.id)}</span>`
      + `<span class="qe-step-state">${esc(t(STATE_WORDS[state] ?? STATE_LABEL[state] ?? ""))}</span>`
      + (locked && n.info ? `<span class="qe-step-why">${esc(n.info)}</span>` : "")
      + "</span></button></li>");
  }
  out.push("</ol>");
  return out.join("");
}

// --- the widget ------------------------------------------------------------------------

function render({ model, el: host }) {
  WORDS = model.get("words") || {};
  host.classList.add("qe-map");

  const switcher = document.createElement("div");
  switcher.className = "qe-view-switch";
  switcher.setAttribute("role", "group");
  switcher.setAttribute("aria-label", t("Show the steps as"));
  const viewButtons = {};
  for (const [view, label] of [["map", t("🗺 Map")], ["list", t("☰ List of steps")]]) {
    const b = document.createElement("button");
    b.type = "button"; b.textContent = label; b.className = `qe-view-${view}`;
    b.addEventListener("click", () => { model.set("view", view); model.save_changes(); });
    switcher.appendChild(b);
    viewButtons[view] = b;
  }
  host.appendChild(switcher);

  const frame = document.createElement("div");
  frame.className = "qe-map-frame";
  host.appendChild(frame);
  const list = document.createElement("div");
  list.className = "qe-step-list";
  host.appendChild(list);

  // a labelled group of node buttons (not an image: its steps are reached with Tab and the
  // arrow keys; the list view says the same in a plain list)
  const svg = el("svg", { class: "qe-map-svg", role: "group", "aria-roledescription": "quest map",
    "aria-label": t("Quest map. Arrow keys move between steps, Enter opens one, plus and minus zoom.") });
  frame.appendChild(svg);
  const defs = el("defs", {}, svg);
  for (const when of ["done", "success", "fail", "retry"]) {
    const marker = el("marker", { id: `qe-arrow-${when}`, viewBox: "0 0 10 10", refX: "9", refY: "5",
      markerWidth: "12", markerHeight: "12", markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" }, defs);
    el("path", { d: "M0,0 L10,5 L0,10 z", class: `qe-arrowhead qe-when-${when}` }, marker);
  }
  const viewport = el("g", { class: "qe-viewport" }, svg);
  const edgeLayer = el("g", { class: "qe-edges" }, viewport);
  const nodeLayer = el("g", { class: "qe-nodes" }, viewport);

  const tip = document.createElement("div");
  tip.className = "qe-tip";
  tip.id = `qe-tip-${Math.random().toString(36).slice(2)}`;
  tip.setAttribute("role", "tooltip");
  tip.hidden = true;
  frame.appendChild(tip);

  const tools = document.createElement("div");
  tools.className = "qe-tools";
  for (const [label, title, fn] of [["+", t("Zoom in"), () => zoomBy(1.25)], ["−", t("Zoom out"), () => zoomBy(0.8)], ["⤢", t("Fit the map"), () => fit()]]) {
    const b = document.createElement("button");
    b.type = "button"; b.textContent = label; b.title = title; b.setAttribute("aria-label", title);
    b.addEventListener("click", fn);
    tools.appendChild(b);
  }
  frame.appendChild(tools);

  const legend = document.createElement("div");
  legend.className = "qe-legend";
  frame.appendChild(legend);

  let view = { x: 0, y: 0, k: 1 };
  let fitted = false;
  let moved = false; // the student panned or zoomed: a small resize keeps their view
  let byId = new Map();

  let drawnFar = null; // whether the nodes on screen were drawn without their words
  let detailTimer = 0;
  function applyView() {
    viewport.setAttribute("transform", `translate(${view.x},${view.y}) scale(${view.k})`);
    host.classList.toggle("qe-far", view.k < FAR);
    if (drawnFar !== null && drawnFar !== (view.k < FAR) && !detailTimer) {
      // zoomed across the threshold: draw again with (or without) the words
      detailTimer = requestAnimationFrame(() => { detailTimer = 0; draw(); });
    }
  }

  function bounds() {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const n of byId.values()) {
      x0 = Math.min(x0, n.x); y0 = Math.min(y0, n.y);
      x1 = Math.max(x1, n.x + W(n) + 40); y1 = Math.max(y1, n.y + H(n) + 24);
    }
    return byId.size ? { x0, y0, x1, y1 } : { x0: 0, y0: 0, x1: 100, y1: 100 };
  }

  function size() {
    return { w: frame.clientWidth || 800, h: frame.clientHeight || model.get("height") || 420 };
  }

  let toolsHeight = 0;
  function fittedView() {
    const b = bounds();
    const { w, h } = size();
    // room at the top for the zoom buttons and at the bottom for the legend
    toolsHeight = toolsHeight || tools.offsetHeight;
    const top = toolsHeight ? toolsHeight + 12 : 44, bottom = 28;
    const k = Math.min(1.4, Math.max(0.02, Math.min((w - 24) / (b.x1 - b.x0), (h - top - bottom) / (b.y1 - b.y0))));
    return { k, x: (w - (b.x1 - b.x0) * k) / 2 - b.x0 * k, y: top + (h - top - bottom - (b.y1 - b.y0) * k) / 2 - b.y0 * k };
  }

  function fit() {
    moved = false;
    fitted = true;
    view = fittedView();
    applyView();
  }

  function zoomBy(factor, cx = null, cy = null) {
    const { w, h } = size();
    cx = cx ?? w / 2; cy = cy ?? h / 2;
    const k = Math.min(4, Math.max(0.02, view.k * factor));
    view.x = cx - (cx - view.x) * (k / view.k);
    view.y = cy - (cy - view.y) * (k / view.k);
    view.k = k;
    moved = true;
    applyView();
  }

  function select(id) {
    if (id == null) return;
    model.set("selected", id);
    model.set("selected_edge", -1);
    model.save_changes();
    const follow = model.get("follow");
    // on a narrow screen the panel sits below: bring it into view
    if (follow && host.clientWidth < 700) {
      const target = host.closest(".qe-page")?.querySelector(follow) || document.querySelector(follow);
      target?.scrollIntoView({ block: "start", behavior: reduceMotion() ? "auto" : "smooth" });
    }
  }

  function showTip(node, event) {
    tip.replaceChildren();
    const strong = document.createElement("strong");
    strong.textContent = node.title;
    tip.appendChild(strong);
    if (node.info) {
      const p = document.createElement("div");
      p.textContent = node.info;
      tip.appendChild(p);
    }
    const r = frame.getBoundingClientRect();
    tip.style.left = `${Math.max(4, Math.min(event.clientX - r.left + 14, r.width - 254))}px`;
    tip.style.top = `${Math.min(event.clientY - r.top + 14, r.height - 40)}px`;
    tip.hidden = false;
  }

  // the nodes as they are now: the list Python sent with the states that changed since
  // (the "patch": node id -> its new fields) laid over it
  function shownNodes() {
    const nodes = model.get("nodes") || [];
    const patch = model.get("patch") || {};
    return Object.keys(patch).length ? nodes.map((n) => (patch[n.id] ? { ...n, ...patch[n.id] } : n)) : nodes;
  }

  function drawList() {
    list.innerHTML = listMarkup(shownNodes(), model.get("selected"), model.get("current"));
  }

  function draw() {
    const nodes = shownNodes();
    const edges = model.get("edges") || [];
    const counts = model.get("counts") || {};
    const editable = model.get("editable");
    host.classList.toggle("qe-editable", Boolean(editable));
    byId = new Map(nodes.map((n) => [n.id, n]));
    // the zoom the map will be seen at decides how much of it is worth drawing
    const willFit = !fitted && nodes.length;
    if (willFit) view = fittedView();
    const far = view.k < FAR && !editable;
    drawnFar = far;
    // one node is in the Tab order (the selected one, else the current, else the first);
    // the arrow keys move between them; a redraw keeps the keyboard where it was
    const focused = nodeLayer.contains(document.activeElement) ? document.activeElement.dataset.id : null;
    const sel = model.get("selected"), cur = model.get("current");
    const focusable = focused && byId.has(focused) ? focused
      : byId.has(sel) ? sel : byId.has(cur) ? cur : nodes[0]?.id;
    const ctx = { selected: sel, current: cur, editable, counts, far, focusable };
    edgeLayer.innerHTML = edgesMarkup(edges, byId, editable, model.get("selected_edge"), far);
    nodeLayer.innerHTML = nodes.map((n) => nodeMarkup(n, ctx)).join("");
    if (focused) nodeLayer.querySelector(`.qe-node[data-id="${CSS.escape(focused)}"]`)?.focus({ preventScroll: true });
    legend.replaceChildren();
    const states = [...new Set(nodes.map((n) => n.state).filter((st) => st && STATE_LABEL[st] !== ""))];
    for (const st of states) {
      const item = document.createElement("span");
      item.className = `qe-legend-item qe-state-${st}`;
      item.textContent = t(STATE_LABEL[st] ?? st);
      legend.appendChild(item);
    }
    if (willFit) {
      fitted = true;
      moved = false;
      applyView();
    }
    host.classList.toggle("qe-large", nodes.length > 150);
    if (model.get("view") === "list" && !editable) drawList();
    host.dataset.rendered = String(nodes.length);
  }

  function setView() {
    const v = model.get("editable") ? "map" : (model.get("view") || "map");
    host.dataset.view = v;
    for (const [name, b] of Object.entries(viewButtons)) b.setAttribute("aria-pressed", String(name === v));
    if (v === "list") drawList();
    else if (!fitted) fit();
  }

  // interaction --------------------------------------------------------------
  // Plain mode: drag the background (one finger) to pan, pinch (two fingers) or
  // the wheel to zoom, click or tap a node to select it. Editable mode also:
  // click the background to add a node, drag a node to move it, drag from a
  // node's port (the dot on its right) to another node to connect them, click a
  // path to select it, Delete to remove the selection. Each edit is a message
  // to Python, which owns the quest and redraws.
  let drag = null;
  const pointers = new Map(); // pointerId -> {x, y} of the fingers down
  let pinch = null;
  const toMap = (ev) => {
    const r = svg.getBoundingClientRect();
    return { x: (ev.clientX - r.left - view.x) / view.k, y: (ev.clientY - r.top - view.y) / view.k };
  };
  const send = (msg) => model.send(msg);
  let ghost = null;
  const pinchState = () => {
    const [a, b] = [...pointers.values()];
    const r = svg.getBoundingClientRect();
    return { d: Math.hypot(a.x - b.x, a.y - b.y) || 1, cx: (a.x + b.x) / 2 - r.left, cy: (a.y + b.y) / 2 - r.top };
  };
  const onDown = (ev) => {
    if (ev.button !== 0 && ev.pointerType === "mouse") return;
    pointers.set(ev.pointerId, { x: ev.clientX, y: ev.clientY });
    try { svg.setPointerCapture(ev.pointerId); } catch (_e) { /* not capturable */ }
    if (pointers.size === 2) { // a second finger: pinch to zoom, no click, no drag
      ghost?.remove(); ghost = null;
      drag = null;
      pinch = { ...pinchState(), k: view.k };
      ev.preventDefault();
      return;
    }
    if (pointers.size > 2) return;
    const editable = model.get("editable");
    const port = editable && ev.target.closest?.(".qe-port");
    const nodeEl = ev.target.closest?.(".qe-node");
    const edgeEl = ev.target.closest?.(".qe-edge");
    if (port) {
      const a = byId.get(port.dataset.port);
      ghost = el("path", { class: "qe-ghost" }, viewport);
      drag = { mode: "connect", source: a.id, x0: a.x + W(a), y0: a.y + H(a) / 2, moved: true };
    } else if (editable && nodeEl) {
      const n = byId.get(nodeEl.dataset.id);
      drag = { mode: "node", id: n.id, el: nodeEl, x: ev.clientX, y: ev.clientY, nx: n.x, ny: n.y, moved: false };
    } else if (editable && edgeEl && !nodeEl) {
      drag = { mode: "edge", index: Number(edgeEl.dataset.index), moved: false, x: ev.clientX, y: ev.clientY };
    } else {
      drag = { mode: "pan", x: ev.clientX, y: ev.clientY, vx: view.x, vy: view.y, moved: false, at: toMap(ev), node: nodeEl?.dataset.id };
    }
    ev.preventDefault();
  };
  const onMove = (ev) => {
    if (pointers.has(ev.pointerId)) pointers.set(ev.pointerId, { x: ev.clientX, y: ev.clientY });
    if (pinch && pointers.size === 2) {
      const now = pinchState();
      const k = Math.min(4, Math.max(0.02, pinch.k * now.d / pinch.d));
      zoomBy(k / view.k, now.cx, now.cy);
      view.x += now.cx - pinch.cx; view.y += now.cy - pinch.cy; // two fingers moving together pan
      pinch.cx = now.cx; pinch.cy = now.cy;
      applyView();
      return;
    }
    const nodeEl = ev.target.closest?.(".qe-node");
    if (ev.pointerType === "mouse" && nodeEl && !drag) {
      const n = byId.get(nodeEl.dataset.id);
      if (n) showTip(n, ev);
    } else if (!drag) {
      tip.hidden = true;
    }
    if (!drag) return;
    tip.hidden = true;
    if (drag.mode === "connect") {
      const p = toMap(ev);
      ghost.setAttribute("d", `M${drag.x0},${drag.y0} L${p.x},${p.y}`);
      return;
    }
    const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > (ev.pointerType === "mouse" ? 3 : 8)) drag.moved = true;
    if (!drag.moved) return;
    if (drag.mode === "pan") {
      view.x = drag.vx + dx; view.y = drag.vy + dy;
      moved = true;
      applyView();
    } else if (drag.mode === "node") {
      drag.tx = drag.nx + dx / view.k; drag.ty = drag.ny + dy / view.k;
      drag.el.setAttribute("transform", `translate(${drag.tx},${drag.ty})`);
    }
  };
  const onUp = (ev) => {
    pointers.delete(ev.pointerId);
    if (pinch) {
      if (pointers.size === 0) pinch = null;
      return;
    }
    if (!drag) return;
    const d = drag;
    drag = null;
    if (ev.type === "pointercancel") { ghost?.remove(); ghost = null; return; }
    // with pointer capture, the element under the finger is found by position
    const under = document.elementFromPoint(ev.clientX, ev.clientY) || ev.target;
    if (d.mode === "connect") {
      ghost?.remove(); ghost = null;
      const target = under.closest?.(".qe-node")?.dataset.id;
      if (target && target !== d.source) send({ type: "connect", source: d.source, target });
    } else if (d.mode === "node") {
      if (d.moved) send({ type: "move", id: d.id, x: Math.round(d.tx), y: Math.round(d.ty) });
      else select(d.id);
    } else if (d.mode === "edge") {
      if (!d.moved) { model.set("selected_edge", d.index); model.set("selected", ""); model.save_changes(); }
    } else if (!d.moved) {
      if (d.node) select(d.node);
      else if (model.get("editable") && under.closest?.(".qe-map-svg")) send({ type: "add", x: Math.round(d.at.x - NODE_W / 2), y: Math.round(d.at.y - NODE_H / 2) });
    }
  };
  const onWheel = (ev) => {
    ev.preventDefault();
    const r = svg.getBoundingClientRect();
    zoomBy(ev.deltaY < 0 ? 1.15 : 1 / 1.15, ev.clientX - r.left, ev.clientY - r.top);
  };
  const moveFocus = (nodeEl, key) => {
    const all = [...nodeLayer.querySelectorAll(".qe-node")];
    const i = all.indexOf(nodeEl);
    const j = key === "Home" ? 0 : key === "End" ? all.length - 1
      : (key === "ArrowDown" || key === "ArrowRight") ? Math.min(all.length - 1, i + 1) : Math.max(0, i - 1);
    const next = all[j];
    if (!next || next === nodeEl) return;
    nodeEl.setAttribute("tabindex", "-1");
    next.setAttribute("tabindex", "0");
    next.focus();
    tipFor(next);
  };
  const tipFor = (nodeEl) => {
    // the explanation a mouse gets on hover, for the keyboard on focus (Escape hides it)
    const n = byId.get(nodeEl.dataset.id);
    if (!n) return;
    const r = nodeEl.getBoundingClientRect();
    showTip(n, { clientX: r.left + r.width / 2, clientY: r.bottom });
  };
  const onKey = (ev) => {
    const nodeEl = ev.target.closest?.(".qe-node");
    if (ev.key === "Escape") {
      tip.hidden = true;
    } else if (nodeEl && (ev.key === "Enter" || ev.key === " ")) {
      ev.preventDefault();
      tip.hidden = true;
      select(nodeEl.dataset.id);
    } else if (nodeEl && ["ArrowDown", "ArrowRight", "ArrowUp", "ArrowLeft", "Home", "End"].includes(ev.key)) {
      ev.preventDefault();
      moveFocus(nodeEl, ev.key);
    } else if (!model.get("editable") && (ev.key === "+" || ev.key === "=")) {
      zoomBy(1.25);
    } else if (!model.get("editable") && ev.key === "-") {
      zoomBy(0.8);
    } else if (model.get("editable") && (ev.key === "Delete" || ev.key === "Backspace")) {
      ev.preventDefault();
      send({ type: "delete" });
    }
  };
  const onLeave = () => { tip.hidden = true; };
  const onList = (ev) => {
    const b = ev.target.closest?.(".qe-step-button");
    if (b) select(b.dataset.id);
  };
  svg.setAttribute("tabindex", "0");
  svg.addEventListener("pointerdown", onDown);
  svg.addEventListener("pointermove", onMove);
  svg.addEventListener("pointerup", onUp);
  svg.addEventListener("pointercancel", onUp);
  svg.addEventListener("wheel", onWheel, { passive: false });
  svg.addEventListener("keydown", onKey);
  svg.addEventListener("pointerleave", onLeave);
  svg.addEventListener("focusin", (ev) => { const n = ev.target.closest?.(".qe-node"); if (n && ev.target.matches(":focus-visible")) tipFor(n); });
  svg.addEventListener("focusout", () => { tip.hidden = true; });
  host.addEventListener("keydown", (ev) => { if (ev.key === "Escape") tip.hidden = true; });
  list.addEventListener("click", onList);

  // size: the frame is as tall as asked but never taller than most of the screen; when
  // it changes shape (a phone turned, a window resized) the map fits again, and Python
  // is told the new shape so it can wind the map to match
  const setHeight = () => { frame.style.setProperty("--qe-map-h", `${model.get("height") || 420}px`); };
  const setBackground = () => {
    const url = model.get("background");
    frame.style.backgroundImage = url ? `url("${url}")` : "";
    frame.classList.toggle("qe-themed", Boolean(url));
  };
  setBackground();
  model.on("change:background", setBackground);
  setHeight();
  let lastSize = { w: 0, h: 0 };
  let aspectTimer = null;
  const onResize = () => {
    const w = frame.clientWidth, h = frame.clientHeight;
    if (!w || !h) return; // hidden (another tab, the list view)
    const change = Math.max(Math.abs(w - lastSize.w), Math.abs(h - lastSize.h));
    if (change < 2) return;
    lastSize = { w, h };
    if ((!moved && !(model.get("editable") && fitted)) || change > 80) { fit(); moved = false; }
    clearTimeout(aspectTimer);
    aspectTimer = setTimeout(() => {
      if (model.get("editable")) return;
      const ratio = w / h;
      const nearest = ASPECTS.reduce((a, b) => (Math.abs(b - ratio) < Math.abs(a - ratio) ? b : a));
      if (nearest !== model.get("aspect")) { model.set("aspect", nearest); model.save_changes(); }
    }, 150);
  };
  // back to the tab: the page may have news (a teacher's review); Python asks the service
  let lastFocus = 0;
  const onFocus = () => {
    if (document.visibilityState === "hidden" || model.get("editable")) return;
    const now = Date.now();
    if (now - lastFocus < 2000) return;
    lastFocus = now;
    model.send({ type: "focus" });
  };
  window.addEventListener("focus", onFocus);
  document.addEventListener("visibilitychange", onFocus);
  const resizer = typeof ResizeObserver === "function" ? new ResizeObserver(onResize) : null;
  resizer?.observe(frame);
  window.addEventListener("orientationchange", onResize);

  const redraw = () => draw();
  let shape = "";
  const refit = () => {
    // fit again only when the map itself changed, not when states did
    const next = (model.get("nodes") || []).map((n) => `${n.id}@${n.x},${n.y}`).join("|");
    // (in the editor, after its first fit, the view stays still: a step added, moved or
    // deleted must not shift the map under the teacher's mouse; opening a file or the
    // auto-layout ask for a fit themselves)
    if (next !== shape && !(model.get("editable") && fitted)) fitted = false;
    shape = next;
    draw();
  };
  const onSelected = () => { draw(); };
  model.on("change:nodes", refit);
  model.on("change:patch", redraw);
  model.on("change:edges", redraw);
  model.on("change:counts", redraw);
  model.on("change:selected", onSelected);
  model.on("change:selected_edge", redraw);
  model.on("change:editable", redraw);
  model.on("change:view", setView);
  const onCustom = (msg) => { if (msg?.type === "fit") fit(); };
  model.on("msg:custom", onCustom);
  model.on("change:current", redraw);
  model.on("change:height", setHeight);
  refit();
  setView();

  return () => {
    resizer?.disconnect();
    window.removeEventListener("focus", onFocus);
    document.removeEventListener("visibilitychange", onFocus);
    clearTimeout(aspectTimer);
    window.removeEventListener("orientationchange", onResize);
    model.off("change:nodes", refit);
    model.off("change:patch", redraw);
    model.off("change:edges", redraw);
    model.off("change:counts", redraw);
    model.off("change:selected", onSelected);
    model.off("change:selected_edge", redraw);
    model.off("change:editable", redraw);
    model.off("change:view", setView);
    model.off("msg:custom", onCustom);
    model.off("change:current", redraw);
    model.off("change:height", setHeight);
    model.off("change:background", setBackground);
  };
}

export default { render };
