// Tells the kernel which languages the browser prefers (navigator.languages), once, so a
// page can start in the reader's language before anyone logs in. It is only a preference:
// the kernel picks a language it has a catalog for, and a user's saved choice wins.

function render({ model, el }) {
  el.hidden = true;
  const languages = Array.from(navigator.languages || [navigator.language || ""]).slice(0, 20);
  model.send({ type: "languages", languages });
  // the page's own language, for screen readers and the browser's spell checker
  const apply = () => { document.documentElement.lang = model.get("language") || "en"; };
  apply();
  model.on("change:language", apply);
  return () => model.off("change:language", apply);
}

export default { render };
