// A live region: a container that stays in the page while its content changes, so screen
// readers announce each new message (results, celebrations, errors, "your work came back").
// The HTML comes from the kernel, escaped there like every ipywidgets HTML value.

function render({ model, el: host }) {
  host.classList.add("qe-live");
  const politeness = model.get("politeness") || "polite";
  host.setAttribute("aria-live", politeness);
  host.setAttribute("role", politeness === "assertive" ? "alert" : "status");
  host.setAttribute("aria-atomic", "true");
  const draw = () => { host.innerHTML = model.get("value") || ""; };
  draw();
  model.on("change:value", draw);
  return () => model.off("change:value", draw);
}

export default { render };
