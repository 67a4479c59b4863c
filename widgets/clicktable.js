// A table drawn from server-made HTML whose name buttons report a pick: the progress
// center's students grid. No logic here: the kernel checks every pick with the service.
function render({ model, el }) {
  const draw = () => { el.innerHTML = model.get("html"); };
  const onClick = (event) => {
    const button = event.target.closest("button[data-pick]");
    if (!button || !el.contains(button)) return;
    model.set("picked", Number(button.dataset.pick));
    model.set("clicks", model.get("clicks") + 1);
    model.save_changes();
  };
  draw();
  model.on("change:html", draw);
  el.addEventListener("click", onClick);
  return () => { model.off("change:html", draw); el.removeEventListener("click", onClick); };
}
export default { render };
