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
      <button type="button" class="dismiss" aria-label="Dismiss" onclick="this.closest('.media-card').remove()">×</button></article>`);
  }

  function placeholder(file) {
    const card = el(`<article class="media-card uploading"><div class="meta">
      <div class="name"></div><div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0"><span></span></div>
      <div class="small muted status">Waiting…</div></div></article>`).firstElementChild;
    card.querySelector(".name").textContent = file.name;
    return card;
  }

  function placeResult(card, html) {
    const queue = document.getElementById("upload-queue");
    const grid = document.getElementById("media-grid");
    const fragment = el(html);
    for (const node of Array.from(fragment.children)) {
      if (node.classList.contains("refused") || !grid) {
        queue.prepend(node);
        continue;
      }
      const existing = document.getElementById(node.id);
      if (existing) {
        // The same bytes were already in the library: show where.
        existing.classList.add("flash-found");
        existing.scrollIntoView({ block: "nearest" });
        setTimeout(() => existing.classList.remove("flash-found"), 2500);
      } else {
        grid.prepend(node);
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
        if (xhr.status >= 200 && xhr.status < 300 || xhr.status === 403) {
          placeResult(card, xhr.responseText);
        } else {
          card.replaceWith(refusedCard(file.name, `the server answered ${xhr.status}. Please try again.`));
        }
        resolve();
      };
      xhr.onerror = () => {
        card.replaceWith(refusedCard(file.name, "the upload was interrupted (network error). Please try again."));
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
        queue.prepend(refusedCard(file.name, `the file is larger than the ${panel.dataset.maxMb} MB upload limit.`));
        continue;
      }
      if (file.size === 0) {
        queue.prepend(refusedCard(file.name, "this file is empty."));
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
    if (!document.getElementById("add-panel")) return;
    let depth = 0;
    const hasFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types).includes("Files");
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

  window.prismUpload = uploadFiles;
})();
