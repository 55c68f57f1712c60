// The YAML editor's progressive enhancements: line numbers, Tab indents (Esc then Tab leaves the textarea, so
// keyboard users are never trapped), and the Force button stays disabled until its confirmation is ticked.
// Without this script every form still works: the server checks the confirmation itself.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".editor").forEach(function (editor) {
    var textarea = editor.querySelector("textarea");
    var gutter = editor.querySelector(".gutter");
    if (!textarea || !gutter) return;
    var escaped = false;
    function number() {
      var count = textarea.value.split("\n").length;
      var lines = [];
      for (var i = 1; i <= count; i++) lines.push(String(i));
      gutter.textContent = lines.join("\n");
      gutter.scrollTop = textarea.scrollTop;
    }
    textarea.addEventListener("input", number);
    textarea.addEventListener("scroll", function () { gutter.scrollTop = textarea.scrollTop; });
    textarea.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { escaped = true; return; }
      if (event.key === "Tab" && !escaped && !event.shiftKey && !event.ctrlKey && !event.altKey) {
        event.preventDefault();
        var start = textarea.selectionStart;
        textarea.setRangeText("  ", start, textarea.selectionEnd, "end");
        number();
      }
      escaped = false;
    });
    number();
  });
  var confirm = document.getElementById("confirm-force");
  var force = document.getElementById("force-button");
  if (confirm && force) {
    force.disabled = !confirm.checked;
    confirm.addEventListener("change", function () { force.disabled = !confirm.checked; });
  }
});
