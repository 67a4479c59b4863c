// Files to hand in: a real file input (photos, recordings, videos, PDFs; the camera on a
// phone), the list of files chosen, and a remove button for each. Each file's bytes go to
// the kernel in a message of their own; the kernel checks them (type from the bytes,
// size) and keeps them until the work is sent.

function render({ model, el: host }) {
  host.classList.add("qe-upload");
  const pick = document.createElement("label");
  pick.className = "qe-upload-pick";
  const input = document.createElement("input");
  input.type = "file";
  input.multiple = true;
  const words = document.createElement("span");
  pick.append(words, input);
  const list = document.createElement("ul");
  list.className = "qe-upload-list";
  const message = document.createElement("div");
  message.className = "qe-upload-message";
  message.setAttribute("aria-live", "polite");
  host.append(pick, list, message);

  function update() {
    input.accept = model.get("accept") || "";
    words.textContent = model.get("label") || "📎 Add files";
    list.replaceChildren();
    (model.get("chosen") || []).forEach((f, i) => {
      const li = document.createElement("li");
      li.textContent = `📎 ${f.name} (${f.size >= 1048576 ? (f.size / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(f.size / 1024)) + " KB"}) `;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "qe-upload-remove";
      remove.textContent = "✕";
      remove.setAttribute("aria-label", `Remove ${f.name}`);
      remove.addEventListener("click", () => model.send({ type: "remove", index: i }));
      li.appendChild(remove);
      list.appendChild(li);
    });
    message.textContent = model.get("message") || "";
    message.className = `qe-upload-message${model.get("message") ? " qe-error" : ""}`;
  }

  const onChange = async () => {
    const files = [...input.files];
    input.value = "";
    for (const f of files) {
      const limit = model.get("limit") || 0;
      if (limit && f.size > limit) { // said at once; the kernel checks again anyway
        model.send({ type: "too_big", name: f.name, size: f.size });
        continue;
      }
      const buffer = await f.arrayBuffer();
      model.send({ type: "add", name: f.name, size: f.size }, undefined, [buffer]);
    }
  };
  input.addEventListener("change", onChange);
  update();
  for (const k of ["accept", "label", "chosen", "message"]) model.on(`change:${k}`, update);
  return () => {
    input.removeEventListener("change", onChange);
    for (const k of ["accept", "label", "chosen", "message"]) model.off(`change:${k}`, update);
  };
}

export default { render };
