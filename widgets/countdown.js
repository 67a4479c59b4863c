// A timed challenge's countdown, for the eye. The kernel sends the seconds left by the
// service's clock (`seconds`, sent again whenever the panel is drawn); this only counts
// down from them. It decides nothing: the engine judges an answer by the time it arrives.
// Screen readers are not told every second (role=timer is not a live region); a polite live
// region says it once at one minute left and once when the time is up (WCAG 2.2.1, 4.1.3).

const clock = (s) => {
  const whole = Math.max(0, Math.ceil(s));
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
};

function render({ model, el: host }) {
  host.classList.add("qe-countdown");
  const shown = document.createElement("p");
  shown.className = "qe-countdown-time";
  shown.setAttribute("role", "timer");
  shown.setAttribute("aria-live", "off");
  const live = document.createElement("p");
  live.className = "qe-countdown-live qe-sr-only";
  live.setAttribute("role", "status");
  live.setAttribute("aria-live", "polite");
  host.append(shown, live);
  const said = new Set();
  let end = 0;
  let timer = null;
  const words = (key, fallback) => (model.get("words") || {})[key] || fallback;
  const say = (key, text) => {
    if (said.has(key)) return;
    said.add(key);
    live.textContent = text; // the region is already in the page: the change is announced
  };
  const tick = () => {
    const left = (end - performance.now()) / 1000;
    host.dataset.left = String(Math.max(0, Math.ceil(left)));
    if (left <= 0) {
      shown.textContent = words("over", "⏱ Time is up");
      host.classList.add("qe-countdown-up");
      say("up", words("up", "Time is up. Hand in what you have."));
      clearInterval(timer);
      timer = null;
      return;
    }
    shown.textContent = words("left", "⏱ {time} left").replace("{time}", clock(left));
    if (left <= 60) {
      host.classList.add("qe-countdown-low");
      say("minute", words("minute", "One minute left."));
    }
  };
  const restart = () => {
    const seconds = Number(model.get("seconds")) || 0;
    end = performance.now() + 1000 * seconds;
    if (seconds > 60) said.delete("minute");
    if (seconds > 0) { said.delete("up"); host.classList.remove("qe-countdown-up"); }
    if (!timer) timer = setInterval(tick, 250);
    tick();
  };
  // A countdown drawn anew (the panel redrawn) shows how much is left; it does not say
  // again what an earlier one said: only the changes from here on are announced.
  const first = Number(model.get("seconds")) || 0;
  if (first <= 60) said.add("minute");
  if (first <= 0) said.add("up");
  restart();
  model.on("change:seconds", restart);
  return () => { clearInterval(timer); model.off("change:seconds", restart); };
}

export default { render };
