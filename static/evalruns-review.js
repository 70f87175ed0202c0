// Review queue keys (a static file: the Content-Security-Policy allows no inline script).
//   c correct, x incorrect, 1-5 rating: ticks the choice and submits the form (the page comes back
//   with the model revealed in blind mode); n or j next, k previous. Not while typing in a field,
//   nor with Ctrl/Alt/Meta held (browser and app shortcuts keep working).
(() => {
  "use strict";

  function typing(el) {
    if (!el) return false;
    if (el.isContentEditable) return true;
    const tag = el.tagName;
    return tag === "TEXTAREA" || tag === "SELECT" || (tag === "INPUT" && !["radio", "checkbox", "button", "submit"].includes(el.type));
  }

  document.addEventListener("keydown", (event) => {
    const box = document.querySelector("[data-review]");
    if (!box || event.ctrlKey || event.altKey || event.metaKey || typing(event.target)) return;
    const key = event.key.toLowerCase();
    if (key === "n" || key === "j") {
      if (box.dataset.next) { event.preventDefault(); window.location.assign(box.dataset.next); }
      return;
    }
    if (key === "k") {
      if (box.dataset.previous) { event.preventDefault(); window.location.assign(box.dataset.previous); }
      return;
    }
    const input = box.querySelector(`input[data-key="${CSS.escape(key)}"]`);
    if (!input) return;
    event.preventDefault();
    input.checked = true;
    input.form.requestSubmit();
  });
})();
