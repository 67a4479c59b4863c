// The quest map: an SVG drawing of a quest's nodes and paths, with pan and zoom.
// It only draws and reports clicks (the `selected` trait); every decision is
// made in Python by the classroom service.

const NS = "http://www.w3.org/2000/svg";
const NODE_W = 170;
const NODE_H = 50;

const STATE_LABEL = {
  locked: "locked", available: "open", in_progress: "in progress",
  pending_review: "waiting for review", returned: "returned", success: "done",
  fail: "not passed", closed: "closed", draft: "", problem: "has a problem",
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

const WHEN_MARK = { success: "✓", fail: "✗", retry: "↺", done: "" };

function el(tag, attrs = {}, parent = null) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function shorten(text, max) {
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

function edgePath(a, b, when) {
  // Anchors follow where the target lies: right of the source (the usual case),
  // left of it (a winding map's return row), or below/above it (the next row).
  if (when === "retry") {
    // a loop back to the gate: leave from the bottom, come back into the bottom
    const sx = a.x + NODE_W / 2, sy = a.y + NODE_H;
    const tx = b.x + NODE_W / 2, ty = b.y + NODE_H;
    const dip = Math.max(sy, ty) + 46;
    return { d: `M${sx},${sy} C${sx},${dip} ${tx},${dip} ${tx},${ty + 2}`, mx: (sx + tx) / 2, my: dip - 10 };
  }
  const dx = (b.x - a.x), dy = (b.y - a.y);
  if (Math.abs(dy) > NODE_H * 1.2 && Math.abs(dy) > Math.abs(dx) * 0.5) {
    const down = dy > 0;
    const x1 = a.x + NODE_W / 2, y1 = down ? a.y + NODE_H : a.y;
    const x2 = b.x + NODE_W / 2, y2 = down ? b.y - 2 : b.y + NODE_H + 2;
    const my = (y1 + y2) / 2;
    return { d: `M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2}`, mx: (x1 + x2) / 2, my };
  }
  if (dx >= 0) {
    const x1 = a.x + NODE_W, y1 = a.y + NODE_H / 2, x2 = b.x, y2 = b.y + NODE_H / 2;
    const c = Math.max(40, (x2 - x1) / 2);
    return { d: `M${x1},${y1} C${x1 + c},${y1} ${x2 - c},${y2} ${x2 - 2},${y2}`, mx: (x1 + x2) / 2, my: (y1 + y2) / 2 };
  }
  const x1 = a.x, y1 = a.y + NODE_H / 2, x2 = b.x + NODE_W, y2 = b.y + NODE_H / 2;
  const c = Math.max(40, (x1 - x2) / 2);
  return { d: `M${x1},${y1} C${x1 - c},${y1} ${x2 + c},${y2} ${x2 + 2},${y2}`, mx: (x1 + x2) / 2, my: (y1 + y2) / 2 };
}

function render({ model, el: host }) {
  host.classList.add("qe-map");
  const frame = document.createElement("div");
  frame.className = "qe-map-frame";
  host.appendChild(frame);

  const svg = el("svg", { class: "qe-map-svg", role: "img", "aria-label": "Quest map" });
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
  tip.hidden = true;
  frame.appendChild(tip);

  const tools = document.createElement("div");
  tools.className = "qe-tools";
  for (const [label, title, fn] of [["+", "Zoom in", () => zoomBy(1.25)], ["−", "Zoom out", () => zoomBy(0.8)], ["⤢", "Fit the map", () => fit()]]) {
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
  let byId = new Map();

  function applyView() {
    viewport.setAttribute("transform", `translate(${view.x},${view.y}) scale(${view.k})`);
  }

  function bounds() {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const n of byId.values()) {
      x0 = Math.min(x0, n.x); y0 = Math.min(y0, n.y);
      x1 = Math.max(x1, n.x + NODE_W); y1 = Math.max(y1, n.y + NODE_H + 50);
    }
    return byId.size ? { x0, y0, x1, y1 } : { x0: 0, y0: 0, x1: 100, y1: 100 };
  }

  function fit() {
    const b = bounds();
    const w = frame.clientWidth || 800, h = frame.clientHeight || model.get("height") || 420;
    const k = Math.min(1.4, Math.max(0.02, Math.min((w - 40) / (b.x1 - b.x0), (h - 40) / (b.y1 - b.y0))));
    view = { k, x: (w - (b.x1 - b.x0) * k) / 2 - b.x0 * k, y: (h - (b.y1 - b.y0) * k) / 2 - b.y0 * k };
    applyView();
  }

  function zoomBy(factor, cx = null, cy = null) {
    const w = frame.clientWidth || 800, h = frame.clientHeight || 420;
    cx = cx ?? w / 2; cy = cy ?? h / 2;
    const k = Math.min(4, Math.max(0.02, view.k * factor));
    view.x = cx - (cx - view.x) * (k / view.k);
    view.y = cy - (cy - view.y) * (k / view.k);
    view.k = k;
    applyView();
  }

  function select(id) {
    if (id == null) return;
    model.set("selected", id);
    model.set("selected_edge", -1);
    model.save_changes();
    svg.focus({ preventScroll: true });
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
    tip.style.left = `${Math.min(event.clientX - r.left + 14, r.width - 260)}px`;
    tip.style.top = `${event.clientY - r.top + 14}px`;
    tip.hidden = false;
  }

  function draw() {
    const nodes = model.get("nodes") || [];
    const edges = model.get("edges") || [];
    const counts = model.get("counts") || {};
    const selected = model.get("selected");
    const current = model.get("current");
    const editable = model.get("editable");
    host.classList.toggle("qe-editable", Boolean(editable));
    byId = new Map(nodes.map((n) => [n.id, n]));
    const edgeFrag = document.createDocumentFragment();
    const selectedEdge = model.get("selected_edge");
    edges.forEach((e, i) => {
      const a = byId.get(e.source), b = byId.get(e.target);
      if (!a || !b) return;
      const when = e.when || "done";
      const p = edgePath(a, b, when);
      const index = e.index ?? i;
      const cls = `qe-edge qe-when-${when}${index === selectedEdge ? " qe-edge-selected" : ""}`;
      const g = el("g", { class: cls, "data-source": e.source, "data-target": e.target, "data-index": index }, edgeFrag);
      if (editable) el("path", { d: p.d, class: "qe-edge-hit" }, g);
      el("path", { d: p.d, "marker-end": `url(#qe-arrow-${when})` }, g);
      if (WHEN_MARK[when]) {
        el("circle", { cx: p.mx, cy: p.my, r: 9, class: "qe-edge-badge" }, g);
        const t = el("text", { x: p.mx, y: p.my + 4, "text-anchor": "middle", class: "qe-edge-mark" }, g);
        t.textContent = WHEN_MARK[when];
      }
      const title = el("title", {}, g);
      title.textContent = when === "done" ? "" : `${when === "retry" ? "retry" : "on " + when}`;
    });
    const nodeFrag = document.createDocumentFragment();
    for (const n of nodes) {
      const state = n.state || "draft";
      const cls = ["qe-node", `qe-state-${state}`, `qe-kind-${n.kind}`];
      if (n.id === selected) cls.push("qe-selected");
      if (n.id === current) cls.push("qe-current");
      const g = el("g", { class: cls.join(" "), transform: `translate(${n.x},${n.y})`, tabindex: "0",
        role: "button", "data-id": n.id, "data-state": state,
        "aria-label": `${n.title}: ${STATE_LABEL[state] ?? state}` }, nodeFrag);
      if (n.id === current) el("rect", { x: -6, y: -6, width: NODE_W + 12, height: NODE_H + 12, rx: 14, class: "qe-current-ring" }, g);
      el("rect", { width: NODE_W, height: NODE_H, rx: 10, class: "qe-box" }, g);
      el("rect", { width: 40, height: NODE_H, rx: 10, class: "qe-band" }, g);
      el("path", { d: n.icon || ICONS[n.kind] || "M8 3a5 5 0 1 0 0.01 0z", class: "qe-icon", transform: "translate(10,15) scale(1.25)" }, g);
      const t = el("text", { x: 48, y: 21, class: "qe-title" }, g);
      t.textContent = shorten(n.title || n.id, 18);
      const s = el("text", { x: 48, y: 38, class: "qe-sub" }, g);
      s.textContent = n.sub ?? STATE_LABEL[state] ?? state;
      if (editable) el("circle", { cx: NODE_W, cy: NODE_H / 2, r: 7, class: "qe-port", "data-port": n.id }, g);
      const c = counts[n.id];
      if (c) {
        const parts = [["success", c.success], ["fail", c.fail], ["here", c.here], ["waiting", c.not_reached]];
        let x = 0;
        for (const [kind, value] of parts) {
          if (!value) continue;
          const w = 10 + String(value).length * 7;
          el("rect", { x, y: NODE_H + 4, width: w, height: 16, rx: 8, class: `qe-count qe-count-${kind}` }, g);
          const ct = el("text", { x: x + w / 2, y: NODE_H + 16, "text-anchor": "middle", class: "qe-count-text" }, g);
          ct.textContent = value;
          x += w + 3;
        }
      }
    }
    edgeLayer.replaceChildren(edgeFrag);
    nodeLayer.replaceChildren(nodeFrag);
    legend.replaceChildren();
    const states = [...new Set(nodes.map((n) => n.state).filter((st) => st && STATE_LABEL[st] !== ""))];
    for (const st of states) {
      const item = document.createElement("span");
      item.className = `qe-legend-item qe-state-${st}`;
      item.textContent = STATE_LABEL[st] ?? st;
      legend.appendChild(item);
    }
    if (!fitted && nodes.length) {
      fitted = true;
      requestAnimationFrame(fit);
    }
    host.classList.toggle("qe-large", nodes.length > 150);
    host.dataset.rendered = String(nodes.length);
  }

  // interaction --------------------------------------------------------------
  // Plain mode: drag the background to pan, click a node to select it.
  // Editable mode also: click the background to add a node, drag a node to move
  // it, drag from a node's port (the dot on its right) to another node to
  // connect them, click a path to select it, Delete to remove the selection.
  // Each edit is a message to Python, which owns the quest and redraws.
  let drag = null;
  const toMap = (ev) => {
    const r = svg.getBoundingClientRect();
    return { x: (ev.clientX - r.left - view.x) / view.k, y: (ev.clientY - r.top - view.y) / view.k };
  };
  const send = (msg) => model.send(msg);
  let ghost = null;
  const onDown = (ev) => {
    if (ev.button !== 0) return;
    const editable = model.get("editable");
    const port = editable && ev.target.closest?.(".qe-port");
    const nodeEl = ev.target.closest?.(".qe-node");
    const edgeEl = ev.target.closest?.(".qe-edge");
    if (port) {
      const a = byId.get(port.dataset.port);
      ghost = el("path", { class: "qe-ghost" }, viewport);
      drag = { mode: "connect", source: a.id, x0: a.x + NODE_W, y0: a.y + NODE_H / 2, moved: true };
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
    const nodeEl = ev.target.closest?.(".qe-node");
    if (nodeEl && !drag) {
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
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    if (!drag.moved) return;
    if (drag.mode === "pan") {
      view.x = drag.vx + dx; view.y = drag.vy + dy;
      applyView();
    } else if (drag.mode === "node") {
      drag.tx = drag.nx + dx / view.k; drag.ty = drag.ny + dy / view.k;
      drag.el.setAttribute("transform", `translate(${drag.tx},${drag.ty})`);
    }
  };
  const onUp = (ev) => {
    if (!drag) return;
    const d = drag;
    drag = null;
    if (d.mode === "connect") {
      ghost?.remove(); ghost = null;
      const target = ev.target.closest?.(".qe-node")?.dataset.id;
      if (target && target !== d.source) send({ type: "connect", source: d.source, target });
    } else if (d.mode === "node") {
      if (d.moved) send({ type: "move", id: d.id, x: Math.round(d.tx), y: Math.round(d.ty) });
      else select(d.id);
    } else if (d.mode === "edge") {
      if (!d.moved) { model.set("selected_edge", d.index); model.set("selected", ""); model.save_changes(); }
    } else if (!d.moved) {
      if (d.node) select(d.node);
      else if (model.get("editable") && ev.target.closest?.(".qe-map-svg")) send({ type: "add", x: Math.round(d.at.x - NODE_W / 2), y: Math.round(d.at.y - NODE_H / 2) });
    }
  };
  const onWheel = (ev) => {
    ev.preventDefault();
    const r = svg.getBoundingClientRect();
    zoomBy(ev.deltaY < 0 ? 1.15 : 1 / 1.15, ev.clientX - r.left, ev.clientY - r.top);
  };
  const onKey = (ev) => {
    const nodeEl = ev.target.closest?.(".qe-node");
    if (nodeEl && (ev.key === "Enter" || ev.key === " ")) {
      ev.preventDefault();
      select(nodeEl.dataset.id);
    } else if (model.get("editable") && (ev.key === "Delete" || ev.key === "Backspace")) {
      ev.preventDefault();
      send({ type: "delete" });
    }
  };
  const onLeave = () => { tip.hidden = true; };
  svg.setAttribute("tabindex", "0");
  svg.addEventListener("pointerdown", onDown);
  window.addEventListener("pointermove", onMove);
  window.addEventListener("pointerup", onUp);
  svg.addEventListener("wheel", onWheel, { passive: false });
  svg.addEventListener("keydown", onKey);
  svg.addEventListener("pointerleave", onLeave);

  const setHeight = () => { frame.style.height = `${model.get("height") || 420}px`; };
  const setBackground = () => {
    const url = model.get("background");
    frame.style.backgroundImage = url ? `url("${url}")` : "";
    frame.classList.toggle("qe-themed", Boolean(url));
  };
  setBackground();
  model.on("change:background", setBackground);
  setHeight();
  const redraw = () => draw();
  let shape = "";
  const refit = () => {
    // fit again only when the map itself changed, not when states did
    const next = (model.get("nodes") || []).map((n) => `${n.id}@${n.x},${n.y}`).join("|");
    if (next !== shape) fitted = false;
    shape = next;
    draw();
  };
  model.on("change:nodes", refit);
  model.on("change:edges", redraw);
  model.on("change:counts", redraw);
  model.on("change:selected", redraw);
  model.on("change:selected_edge", redraw);
  model.on("change:editable", redraw);
  const onCustom = (msg) => { if (msg?.type === "fit") fit(); };
  model.on("msg:custom", onCustom);
  model.on("change:current", redraw);
  model.on("change:height", setHeight);
  refit();

  return () => {
    window.removeEventListener("pointermove", onMove);
    window.removeEventListener("pointerup", onUp);
    model.off("change:nodes", refit);
    model.off("change:edges", redraw);
    model.off("change:counts", redraw);
    model.off("change:selected", redraw);
    model.off("change:selected_edge", redraw);
    model.off("change:editable", redraw);
    model.off("msg:custom", onCustom);
    model.off("change:current", redraw);
    model.off("change:height", setHeight);
    model.off("change:background", setBackground);
  };
}

export default { render };
