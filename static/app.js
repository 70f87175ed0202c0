// Prism: file uploads with per-file progress (drag and drop anywhere, or the file picker).
// htmx covers the rest of the page; uploads use XMLHttpRequest because it reports upload progress.
(function () {
  "use strict";
  const PARALLEL = 3;

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }

  function el(html) {
    const t = document.createElement("template");
    t.innerHTML = html.trim();
    return t.content;
  }

  function escapeText(s) {
    const d = document.createElement("div");
    d.textContent = s;
    return d.innerHTML;
  }

  function refusedCard(name, reason) {
    return el(`<article class="media-card refused" role="alert"><div class="meta">
      <div class="name">${escapeText(name)}</div><p class="reason">Refused: ${escapeText(reason)}</p>
      <p class="muted small">Nothing was stored.</p></div>
      <button type="button" class="dismiss" aria-label="Dismiss" data-dismiss=".media-card">×</button></article>`);
  }

  function placeholder(file) {
    const card = el(`<article class="media-card uploading"><div class="meta">
      <div class="name"></div><div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0"><span></span></div>
      <div class="small muted status">Waiting…</div></div></article>`).firstElementChild;
    card.querySelector(".name").textContent = file.name;
    return card;
  }

  // Going Back to the Library can show the browser's cached copy of the page as it was first
  // served, without the cards added on it since. Remember the last card added in this tab; a
  // Library page that comes back from the cache without it is stale, so load it afresh.
  const LAST_ADDED = "prism:last-added";
  function rememberAdded(node) {
    try { sessionStorage.setItem(LAST_ADDED, node.id); } catch (e) { /* storage disabled: no matter */ }
  }
  window.addEventListener("pageshow", (e) => {
    const nav = performance.getEntriesByType && performance.getEntriesByType("navigation")[0];
    if (e.persisted || !nav || nav.type !== "back_forward" || location.search) return;
    let last = null;
    try { last = sessionStorage.getItem(LAST_ADDED); } catch (err) { return; }
    if (last && document.getElementById("media-grid") && !document.getElementById(last)) location.reload();
  });

  // The kind counters in the filter tabs ("Image 4") follow what is added on this page. A card
  // with a notice ("Already in your library") is an item the library had before: no new count.
  function countAdded(node) {
    rememberAdded(node);
    if (node.querySelector(".notice")) return;
    const kind = node.dataset.kind;
    const count = document.querySelector(`.tabs input[name="kind"][value="${kind}"]`)?.closest("label")?.querySelector(".count");
    if (count) count.textContent = String((parseInt(count.textContent, 10) || 0) + 1);
  }

  // A card for an item the page already shows (the same bytes were added again): point at it.
  function flashExisting(existing) {
    existing.classList.add("flash-found");
    existing.scrollIntoView({ block: "nearest" });
    setTimeout(() => existing.classList.remove("flash-found"), 2500);
  }

  function addedElsewhere(node) {
    const name = node.querySelector(".name").textContent;
    const note = el(`<article class="media-card added-note" role="status"><div class="meta">
      <div class="name"></div><p class="small">Added to the library; it is not shown under the current filter.</p>
      <a class="small" href="${node.querySelector("a.name").getAttribute("href")}">Open it</a></div>
      <button type="button" class="dismiss" aria-label="Dismiss" data-dismiss=".media-card">×</button></article>`);
    note.querySelector(".name").textContent = name;
    return note;
  }

  // "Already in your library as …": the server's notice, in the queue, with a link to the item.
  function alreadyNote(node) {
    const note = el(`<article class="media-card added-note already" role="status"><div class="meta">
      <p class="small notice"></p><a class="small" href="">Open it</a></div>
      <button type="button" class="dismiss" aria-label="Dismiss" data-dismiss=".media-card">×</button></article>`);
    note.querySelector(".notice").textContent = node.querySelector(".notice")?.textContent || "Already in your library.";
    note.querySelector("a").setAttribute("href", node.querySelector("a.name").getAttribute("href"));
    return note;
  }

  function placeResult(card, html, file) {
    const queue = document.getElementById("upload-queue");
    const grid = document.getElementById("media-grid");
    const cards = Array.from(el(html).children).filter((node) => node.classList.contains("media-card"));
    if (!cards.length) {
      // Not an answer of the upload view (an error page, a proxy's page...): say so, don't show it.
      card.replaceWith(refusedCard(file.name, "The server's answer was not understood. Please reload the page and try again."));
      return;
    }
    for (const node of cards) {
      if (node.classList.contains("refused") || !grid) {
        queue.prepend(node);
        continue;
      }
      const existing = document.getElementById(node.id);
      const filter = document.querySelector(".filters input[name=kind]:checked");
      if (existing) {
        // Say it, not only show it: the flash alone reads as nothing happening.
        flashExisting(existing);
        queue.prepend(alreadyNote(node));
      } else if (node.querySelector(".notice")) {
        // Already in the library but not on this page (filtered out, or further down): say so.
        queue.prepend(alreadyNote(node));
      } else if (filter && filter.value && filter.value !== node.dataset.kind) {
        // Stored, but the grid shows another kind: say where it went rather than break the filter.
        countAdded(node);
        queue.prepend(addedElsewhere(node));
      } else {
        grid.prepend(node);
        countAdded(node);
        if (window.htmx) htmx.process(node);
      }
    }
    card.remove();
  }

  function send(file, card, url) {
    return new Promise((resolve) => {
      const bar = card.querySelector(".progress > span");
      const status = card.querySelector(".status");
      const xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("X-CSRFToken", csrfToken());
      xhr.setRequestHeader("HX-Request", "true");
      xhr.upload.onprogress = (e) => {
        if (!e.lengthComputable) return;
        const pct = Math.round((e.loaded / e.total) * 100);
        bar.style.width = pct + "%";
        card.querySelector(".progress").setAttribute("aria-valuenow", pct);
        status.textContent = pct < 100 ? `Uploading… ${pct}%` : "Checking…";
      };
      xhr.onload = () => {
        const answeredBy = xhr.responseURL ? new URL(xhr.responseURL).pathname : "";
        if (answeredBy && answeredBy !== new URL(url, location.href).pathname) {
          // Redirected, most likely to the login page: the session has ended.
          card.replaceWith(refusedCard(file.name, "You are no longer logged in. Log in again, then upload the file again."));
        } else if (xhr.status >= 200 && xhr.status < 300 || xhr.status === 403) {
          placeResult(card, xhr.responseText, file);
        } else {
          card.replaceWith(refusedCard(file.name, `The server answered ${xhr.status}. Please try again.`));
        }
        resolve();
      };
      xhr.onerror = () => {
        card.replaceWith(refusedCard(file.name, "The upload was interrupted (network error). Please try again."));
        resolve();
      };
      const form = new FormData();
      form.append("file", file, file.name);
      status.textContent = "Uploading…";
      xhr.send(form);
    });
  }

  async function uploadFiles(files) {
    const panel = document.getElementById("add-panel");
    if (!panel) return;
    const url = panel.dataset.uploadUrl;
    const maxBytes = parseInt(panel.dataset.maxBytes || "0", 10);
    const queue = document.getElementById("upload-queue");
    const jobs = [];
    for (const file of files) {
      if (maxBytes && file.size > maxBytes) {
        queue.prepend(refusedCard(file.name, `The file is larger than the ${panel.dataset.maxMb} MB upload limit.`));
        continue;
      }
      if (file.size === 0) {
        queue.prepend(refusedCard(file.name, "This file is empty."));
        continue;
      }
      const card = placeholder(file);
      queue.append(card);
      jobs.push([file, card]);
    }
    // A few at a time: each shows its own progress, and the server checks them in parallel.
    const workers = Array.from({ length: PARALLEL }, async () => {
      while (jobs.length) {
        const [file, card] = jobs.shift();
        await send(file, card, url);
      }
    });
    await Promise.all(workers);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const input = document.getElementById("file-input");
    if (input) {
      input.addEventListener("change", () => {
        uploadFiles(Array.from(input.files));
        input.value = "";
      });
    }
    const hasFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types).includes("Files");
    if (!document.getElementById("add-panel")) {
      // No uploads here (another page, or a read-only role): a dropped file must not replace the app.
      document.addEventListener("dragover", (e) => { if (hasFiles(e)) { e.preventDefault(); e.dataTransfer.dropEffect = "none"; } });
      document.addEventListener("drop", (e) => { if (hasFiles(e)) e.preventDefault(); });
      return;
    }
    let depth = 0;
    document.addEventListener("dragenter", (e) => { if (hasFiles(e)) { depth++; document.body.classList.add("dragging"); } });
    document.addEventListener("dragleave", (e) => { if (hasFiles(e) && --depth <= 0) { depth = 0; document.body.classList.remove("dragging"); } });
    document.addEventListener("dragover", (e) => { if (hasFiles(e)) e.preventDefault(); });
    document.addEventListener("drop", (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth = 0;
      document.body.classList.remove("dragging");
      uploadFiles(Array.from(e.dataTransfer.files));
    });
  });

  // An item added by URL (htmx swaps its card into the grid): count it, and if the grid already
  // showed it (the same bytes), keep the new card, which says so, and drop the old one.
  document.addEventListener("htmx:load", (e) => {
    const node = e.target;
    if (!(node instanceof Element) || !node.matches("#media-grid > .media-card[id]")) return;
    const twins = Array.from(document.querySelectorAll(`[id="${node.id}"]`)).filter((other) => other !== node);
    if (twins.length) {
      twins.forEach((other) => other.remove());
      flashExisting(node);
    } else {
      countAdded(node);
    }
  });

  // Behaviour the templates ask for with data- attributes: the Content-Security-Policy runs no
  // inline handlers (onclick=, hx-on), so they live here.
  document.addEventListener("click", (e) => {
    const button = e.target instanceof Element && e.target.closest("[data-dismiss]");
    if (!button) return;
    const target = button.closest(button.dataset.dismiss);
    if (target instanceof HTMLDialogElement) target.close();
    else if (target) target.remove();
  });
  document.addEventListener("submit", (e) => {
    const form = e.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !confirm(form.dataset.confirm)) e.preventDefault();
  });
  document.addEventListener("htmx:afterRequest", (e) => {
    const form = e.detail && e.detail.elt;
    if (form instanceof HTMLFormElement && form.hasAttribute("data-reset-on-success") && e.detail.successful) form.reset();
  });

  window.prismUpload = uploadFiles;
})();
