// Share links: the Copy button beside a new link (the only time the link is shown).
"use strict";
document.addEventListener("click", async (e) => {
  const button = e.target.closest && e.target.closest(".copy-share");
  if (!button) return;
  const field = document.querySelector(button.dataset.copy);
  if (!field) return;
  let ok = false;
  try {
    await navigator.clipboard.writeText(field.value);
    ok = true;
  } catch (err) {
    field.select(); // no clipboard API (plain http): select it, so Ctrl+C copies it
    try { ok = document.execCommand("copy"); } catch (e2) { ok = false; }
  }
  button.textContent = ok ? "Copied" : "Select and copy";
});
