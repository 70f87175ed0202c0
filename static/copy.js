// A Copy button for a link shown once (an invite, a share link): <button class="copy-field" data-copy="#field">.
// A static file: the Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  document.addEventListener("click", async function (e) {
    const button = e.target.closest && e.target.closest(".copy-field");
    if (!button) return;
    const field = document.querySelector(button.dataset.copy);
    if (!field) return;
    let ok = false;
    try {
      await navigator.clipboard.writeText(field.value);
      ok = true;
    } catch (err) {
      field.select();  // no clipboard API (plain http): select it, so Ctrl+C copies it
      try { ok = document.execCommand("copy"); } catch (err2) { ok = false; }
    }
    button.textContent = ok ? "Copied ✓" : "Copy failed: select the link and copy it";
  });
})();
