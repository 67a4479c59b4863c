// A chart picture (PNG bytes from the kernel) with its text alternative: the alt text says
// what the chart shows, for whoever cannot see it (WCAG 1.1.1).

function render({ model, el: host }) {
  host.classList.add("qe-chart");
  const img = document.createElement("img");
  img.className = "qe-chart-img";
  host.appendChild(img);
  let url = "";
  const draw = () => {
    if (url) URL.revokeObjectURL(url);
    const view = model.get("value");
    url = view && view.byteLength ? URL.createObjectURL(new Blob([view], { type: "image/png" })) : "";
    img.hidden = !url;
    if (url) img.src = url; else img.removeAttribute("src");
    img.alt = model.get("alt") || "A chart";
  };
  draw();
  model.on("change:value", draw);
  model.on("change:alt", draw);
  return () => {
    model.off("change:value", draw);
    model.off("change:alt", draw);
    if (url) URL.revokeObjectURL(url);
  };
}

export default { render };
