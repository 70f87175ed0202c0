// The Team page's invite link: a Copy button (the Content-Security-Policy allows no inline script).
(function () {
  "use strict";
  document.addEventListener("click", async function (e) {
    const button = e.target.closest && e.target.closest(".copy-invite");
    if (!button) return;
    const field = document.querySelector(button.dataset.copy);
    if (!field) return;
    let ok = false;
    try {
      await navigator.clipboard.writeText(field.value);
      ok = true;
    } catch (err) {
      field.select();  // no clipboard API (plain http): the old way
      try { ok = document.execCommand("copy"); } catch (err2) { ok = false; }
    }
    button.textContent = ok ? "Copied ✓" : "Copy failed: select the link and copy it";
  });
})();
