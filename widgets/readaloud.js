// "Read aloud": a button that reads a text with the browser's own speech synthesis
// (offline: the voices of the operating system). Pressing it again stops.

function render({ model, el: host }) {
  host.classList.add("qe-read-aloud-box");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "qe-read-aloud jupyter-button";
  const label = () => model.get("label") || "Read aloud";
  const speech = typeof window !== "undefined" ? window.speechSynthesis : undefined;
  let speaking = false;
  const show = () => {
    button.textContent = speaking ? "⏹ Stop reading" : `🔊 ${label()}`;
    button.setAttribute("aria-pressed", String(speaking));
  };
  const stop = () => { speaking = false; show(); };
  button.addEventListener("click", () => {
    if (!speech) { button.textContent = "Reading aloud is not available in this browser"; return; }
    if (speaking) { speech.cancel(); stop(); return; }
    speech.cancel();
    const say = new SpeechSynthesisUtterance(model.get("text") || "");
    say.lang = model.get("lang") || document.documentElement.lang || "en";
    say.rate = 0.95;
    say.onend = stop; say.onerror = stop;
    speaking = true; show();
    host.dataset.spoken = model.get("text") || "";  // what was sent to the speech engine
    speech.speak(say);
  });
  host.appendChild(button);
  show();
  model.on("change:label", show);
  return () => { model.off("change:label", show); if (speaking && speech) speech.cancel(); };
}

export default { render };
