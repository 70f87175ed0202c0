// Prism prompt editor: the little the server-rendered editor needs in the browser.
// htmx posts the editor form (previews while typing, structural buttons); this file adds the
// page clock that orders drafts, focus after a re-draw, the media picker dialog, copy and
// download of the exact body once the preview has caught up, and a warning before leaving
// with unsaved changes.
(function () {
  "use strict";

  const editorForm = () => document.getElementById("editor-form");
  const picker = () => document.getElementById("media-picker");

  // --- is the preview up to date with what was typed? ---------------------------------------
  let lastInput = 0;
  let lastSent = 0;
  let inFlight = 0;
  let leaving = false;
  const waiters = [];

  function fromEditor(elt) {
    const form = editorForm();
    if (!form || !elt) return false;
    return elt === form || form.contains(elt) || elt.getAttribute("hx-include") === "#editor-form";
  }

  function fresh() {
    return inFlight === 0 && lastSent >= lastInput;
  }

  // Resolves once every edit so far has been previewed (so the draft the server keeps, which
  // Copy and Download read, is what the page shows).
  function whenFresh() {
    if (fresh()) return Promise.resolve();
    if (lastInput > lastSent && inFlight === 0) htmx.trigger(editorForm(), "preview-now");
    return new Promise((resolve) => waiters.push(resolve));
  }

  document.addEventListener("input", (e) => {
    if (fromEditor(e.target)) lastInput = performance.now();
    const pick = e.target.closest && e.target.closest(".protocol-pick");
    if (pick && e.target.type === "checkbox") pick.classList.toggle("on", e.target.checked);
  });

  document.addEventListener("htmx:configRequest", (e) => {
    if (!fromEditor(e.detail.elt) || e.detail.verb !== "post") return;
    // The page's clock: the server keeps a draft only from a request newer than the one it has.
    e.detail.parameters["stamp"] = String(Date.now());
    lastSent = performance.now();
  });

  // Counted on the request itself: the button that sent it may be gone once the answer is swapped in.
  document.addEventListener("htmx:beforeSend", (e) => {
    if (!fromEditor(e.detail.elt) || !e.detail.xhr) return;
    inFlight++;
    e.detail.xhr.addEventListener("loadend", () => {
      inFlight = Math.max(0, inFlight - 1);
      if (fresh()) waiters.splice(0).forEach((resolve) => resolve());
      else if (inFlight === 0 && lastInput > lastSent) htmx.trigger(editorForm(), "preview-now");
    });
  });

  // --- focus after the editor is re-drawn ------------------------------------------------------
  document.addEventListener("htmx:load", (e) => {
    const pane = e.target;
    if (!pane || pane.id !== "editor-pane" || !pane.dataset.focus) return;
    const target = document.getElementById(pane.dataset.focus);
    delete pane.dataset.focus;
    if (!target) return;
    if (target.disabled) {
      const tools = target.closest(".tools");
      const other = tools && tools.querySelector("button:not([disabled])");
      if (other) other.focus();
      return;
    }
    target.focus({ preventScroll: false });
    if (target.tagName === "TEXTAREA" || target.tagName === "INPUT") {
      target.setSelectionRange && target.setSelectionRange(target.value.length, target.value.length);
    }
    if (target.scrollIntoView) target.scrollIntoView({ block: "nearest" });
  });

  // Times the server writes in its own zone, shown in the reader's.
  function localTimes(root) {
    root.querySelectorAll("time.local-time[datetime]").forEach((el) => {
      const when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when)) el.textContent = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    });
  }
  document.addEventListener("DOMContentLoaded", () => localTimes(document));
  document.addEventListener("htmx:load", (e) => localTimes(e.target.parentNode || document));

  // --- the media picker --------------------------------------------------------------------------
  document.addEventListener("htmx:afterSwap", (e) => {
    if (!e.detail.target || e.detail.target.id !== "picker-body") return;
    const dialog = picker();
    if (dialog && !dialog.open) dialog.showModal();
    const first = dialog && (dialog.querySelector(".pick-item") || dialog.querySelector("#picker-q"));
    if (first) first.focus();
  });

  document.addEventListener("htmx:beforeRequest", (e) => {
    const elt = e.detail.elt;
    if (elt && elt.getAttribute && elt.getAttribute("name") === "pick") {
      const dialog = picker();
      if (dialog && dialog.open) dialog.close();
    }
    if (elt && elt.id === "discard-draft") leaving = true;
  });

  // Clicking the backdrop of the picker closes it.
  document.addEventListener("click", (e) => {
    const dialog = picker();
    if (dialog && e.target === dialog) dialog.close();
  });

  // --- copy and download of the exact body --------------------------------------------------------
  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (err) {
      const area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.append(area);
      area.select();
      let ok = false;
      try { ok = document.execCommand("copy"); } catch (e2) { ok = false; }
      area.remove();
      return ok;
    }
  }

  function say(button, text) {
    const before = button.dataset.label || button.textContent;
    button.dataset.label = before;
    button.textContent = text;
    setTimeout(() => { button.textContent = before; }, 1800);
  }

  document.addEventListener("click", async (e) => {
    const copyBody = e.target.closest && e.target.closest(".copy-body");
    if (copyBody) {
      e.preventDefault();
      const protocol = copyBody.closest(".pcol").dataset.protocol;
      await whenFresh();
      const current = document.querySelector(`#col-${protocol} .copy-body`);
      if (!current) return; // the column now explains why it cannot be sent
      const response = await fetch(current.dataset.url, { credentials: "same-origin" });
      if (!response.ok) { say(current, "Cannot copy"); return; }
      const text = await response.text();
      window.prismLastCopied = text;
      say(current, (await copyText(text)) ? "Copied ✓" : "Copy failed");
      return;
    }
    const download = e.target.closest && e.target.closest("a.download-body");
    if (download && !fresh()) {
      // The preview (and the draft the server renders) is behind what was typed: catch up first.
      e.preventDefault();
      const protocol = download.closest(".pcol").dataset.protocol;
      await whenFresh();
      const current = document.querySelector(`#col-${protocol} a.download-body`);
      if (current) current.click();
      return;
    }
    const copySnippet = e.target.closest && e.target.closest(".copy-text");
    if (copySnippet) {
      const source = document.querySelector(copySnippet.dataset.copy);
      if (source) say(copySnippet, (await copyText(source.textContent)) ? "Copied" : "Copy failed");
    }
  });

  // --- keyboard: Ctrl/Cmd+S saves a version --------------------------------------------------------
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "s") {
      const save = document.getElementById("save-version");
      if (save) {
        e.preventDefault();
        whenFresh().then(() => save.click());
      }
    }
  });

  // --- leaving the page -------------------------------------------------------------------------------
  window.addEventListener("beforeunload", (e) => {
    if (leaving) return;
    const bar = document.getElementById("draft-bar");
    if (!bar) return;
    if (!fresh() || bar.dataset.dirty === "true") {
      e.preventDefault();
      e.returnValue = "";
    }
  });

  window.prismEditor = { fresh, whenFresh };
})();
