// A small form (a login, a PIN): its fields and its button. Enter in any field or a
// click on the button sends ALL the values with the submit message, so the kernel
// reads exactly what was typed (separately synced text boxes can lag behind a fast
// typist's Enter). Python checks the values; this only collects them.

function render({ model, el: host }) {
  const form = document.createElement("form");
  form.className = "qe-form-card";
  form.noValidate = true;
  form.autocomplete = "off";
  const heading = document.createElement("h2");
  heading.className = "qe-login-title";
  form.appendChild(heading);
  const fieldsBox = document.createElement("div");
  fieldsBox.className = "qe-form-fields";
  form.appendChild(fieldsBox);
  const button = document.createElement("button");
  button.type = "submit";
  button.className = "qe-login-button";
  form.appendChild(button);
  const message = document.createElement("div");
  message.className = "qe-form-message";
  message.setAttribute("aria-live", "polite");
  form.appendChild(message);
  host.appendChild(form);
  let inputs = {};

  function build() {
    heading.textContent = model.get("title") || "";
    button.textContent = model.get("button") || "OK";
    const old = Object.fromEntries(Object.entries(inputs).map(([k, i]) => [k, i.value]));
    fieldsBox.replaceChildren();
    inputs = {};
    for (const f of model.get("fields") || []) {
      const label = document.createElement("label");
      label.className = `qe-field qe-${f.name}`;
      const span = document.createElement("span");
      span.className = "qe-field-label";
      span.textContent = f.label;
      const input = document.createElement("input");
      input.name = f.name;
      input.type = f.type || "text";
      input.placeholder = f.placeholder || "";
      if (f.inputmode) input.inputMode = f.inputmode;
      input.autocomplete = f.autocomplete || "off";
      input.spellcheck = false;
      input.value = old[f.name] ?? "";
      label.append(span, input);
      fieldsBox.appendChild(label);
      inputs[f.name] = input;
    }
  }

  function showMessage() {
    const text = model.get("message") || "";
    const kind = model.get("message_kind") || "error";
    message.replaceChildren();
    if (!text) return;
    const box = document.createElement("div");
    box.className = kind === "error" ? "qe-error" : "qe-info";
    box.setAttribute("role", kind === "error" ? "alert" : "status");
    box.textContent = text;
    message.appendChild(box);
  }

  function clear() {
    for (const name of model.get("clear") || []) if (inputs[name]) inputs[name].value = "";
  }

  const onSubmit = (ev) => {
    ev.preventDefault();
    const values = Object.fromEntries(Object.entries(inputs).map(([k, i]) => [k, i.value]));
    message.replaceChildren();
    model.send({ type: "submit", values });
  };
  form.addEventListener("submit", onSubmit);
  const onCustom = (msg) => {
    if (msg?.type === "clear") clear();
    if (msg?.type === "clear_all") for (const i of Object.values(inputs)) i.value = "";
    if (msg?.type === "focus") (inputs[msg.field] || Object.values(inputs)[0])?.focus();
  };
  build();
  showMessage();
  model.on("change:fields", build);
  model.on("change:title", build);
  model.on("change:button", build);
  model.on("change:message", showMessage);
  model.on("change:message_kind", showMessage);
  model.on("msg:custom", onCustom);
  return () => {
    form.removeEventListener("submit", onSubmit);
    model.off("change:fields", build);
    model.off("change:title", build);
    model.off("change:button", build);
    model.off("change:message", showMessage);
    model.off("change:message_kind", showMessage);
    model.off("msg:custom", onCustom);
  };
}

export default { render };
