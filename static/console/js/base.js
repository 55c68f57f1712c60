// Shared console behaviour. No inline scripts anywhere (CSP script-src 'self'); credentials never reach JS.
"use strict";
document.addEventListener("keydown", function (event) {
  // "g o": go to the overview (a first keyboard shortcut; the command palette comes later).
  if (event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement) return;
  if (event.key === "g") { window.__consoleG = Date.now(); return; }
  if (event.key === "o" && window.__consoleG && Date.now() - window.__consoleG < 1000) {
    window.location.assign("/console/");
  }
});
