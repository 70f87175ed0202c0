// Keyboard shortcuts (issue 12 #12): reach the editor and the previews without tabbing through
// every control. A static file, as the Content-Security-Policy allows no inline script.
//
//   ?                 this list (not while typing in a field); Esc closes it
//   Alt+1             the prompt editor: the first message's text (or the first message)
//   Alt+2             the previews
//   Ctrl/Cmd+S        save a version (prompts.js handles it)
//   Ctrl/Cmd+Enter    run: the editor's send button if the page has one, else the Run page
//
// Alt+Shift+1/2 do the same (some browsers keep Alt+digit for switching tabs). Keys are matched
// by e.code (Digit1), since Alt+1 types "¡" on a Mac keyboard.
(() => {
  "use strict";

  const editorPage = () => document.getElementById("editor-page");
  const mac = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent || "");
  const mod = mac ? "⌘" : "Ctrl";

  function typing(el) {
    if (!el) return false;
    if (el.isContentEditable) return true;
    const tag = el.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag !== "INPUT") return false;
    return !["checkbox", "radio", "button", "submit", "reset", "file", "range", "color"].includes(el.type);
  }

  function focusTarget(el) {
    if (!el) return false;
    if (!el.matches("a[href], button, input, select, textarea, [tabindex]")) el.setAttribute("tabindex", "-1");
    el.scrollIntoView({ block: "nearest" });
    el.focus({ preventScroll: true });
    if (el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && el.type === "text")) {
      el.setSelectionRange(el.value.length, el.value.length);  // typing goes on from the end
    }
    return true;
  }

  function focusEditor() {
    const pane = document.getElementById("editor-pane");
    if (!pane) return false;
    const first = pane.querySelector(".message textarea:not([disabled]), .message input[type=text]:not([disabled])");
    return focusTarget(first || pane.querySelector(".message") || pane);
  }

  function focusPreviews() {
    const column = document.querySelector("#preview-columns .pcol");
    return focusTarget(column || document.querySelector(".preview-pane"));
  }

  function run() {
    const button = document.querySelector("[data-shortcut='run'], #send-draft, #run-prompt");
    if (!button) return false;
    button.click();
    return true;
  }

  // --- the help dialog ----------------------------------------------------------------------------------
  function shortcuts() {
    const list = [["?", "Show these keyboard shortcuts"], ["Tab", "First stop on every page: “Skip to content”"]];
    if (editorPage()) {
      list.push(
        ["Alt+1", "Go to the prompt editor (the first message)"],
        ["Alt+2", "Go to the previews"],
        [`${mod}+S`, "Save a version"],
        [`${mod}+Enter`, "Run the prompt"],
      );
    }
    list.push(["Esc", "Close a dialog"]);
    return list;
  }

  function helpDialog() {
    let dialog = document.getElementById("shortcuts-help");
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.id = "shortcuts-help";
    dialog.className = "shortcuts-dialog";
    dialog.setAttribute("aria-labelledby", "shortcuts-title");
    const title = document.createElement("h2");
    title.id = "shortcuts-title";
    title.textContent = "Keyboard shortcuts";
    const table = document.createElement("dl");
    table.className = "shortcuts-list";
    for (const [keys, what] of shortcuts()) {
      const dt = document.createElement("dt");
      for (const [i, key] of keys.split("+").entries()) {
        if (i) dt.append("+");
        const kbd = document.createElement("kbd");
        kbd.textContent = key;
        dt.append(kbd);
      }
      const dd = document.createElement("dd");
      dd.textContent = what;
      table.append(dt, dd);
    }
    const close = document.createElement("button");
    close.type = "button";
    close.textContent = "Close";
    close.addEventListener("click", () => dialog.close());
    dialog.append(title, table, close);
    dialog.addEventListener("click", (e) => { if (e.target === dialog) dialog.close(); });  // a click outside it
    document.body.append(dialog);
    return dialog;
  }

  function showHelp() {
    const dialog = helpDialog();
    if (!dialog.open) dialog.showModal();
  }

  document.addEventListener("click", (e) => {
    if (e.target.closest && e.target.closest("[data-shortcuts-help]")) showHelp();
  });

  document.addEventListener("keydown", (e) => {
    if (e.defaultPrevented || e.isComposing) return;
    if (e.altKey && !e.ctrlKey && !e.metaKey && (e.code === "Digit1" || e.code === "Digit2") && editorPage()) {
      if (e.code === "Digit1" ? focusEditor() : focusPreviews()) e.preventDefault();
      return;
    }
    if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key === "Enter" && editorPage()) {
      if (run()) e.preventDefault();
      return;
    }
    if (e.key === "?" && !e.ctrlKey && !e.metaKey && !e.altKey && !typing(e.target)) {
      const open = document.querySelector("dialog[open]");
      if (open && open.id !== "shortcuts-help") return;  // another dialog (the media picker) has the keyboard
      e.preventDefault();
      showHelp();
    }
  });

  window.prismShortcuts = { showHelp, focusEditor, focusPreviews };
})();
