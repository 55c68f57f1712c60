// RBAC and ServiceAccount pages: a copy button for an issued token, extra subject rows, and the name suggestions
// of a subject row following its kind. Every form still works without JavaScript.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var copy = document.getElementById("copy-token");
  if (copy) {
    copy.addEventListener("click", function () {
      var field = document.getElementById(copy.getAttribute("data-copy"));
      var status = document.getElementById("copy-status");
      field.select();
      var done = function () { status.textContent = "Copied."; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () { status.textContent = "Copy failed; select and copy it."; });
      } else if (document.execCommand("copy")) { done(); }
    });
  }
  var lists = { Group: "group-options", ServiceAccount: "serviceaccount-options", User: "" };
  function follow(row) {
    var kind = row.querySelector("select[name=subject_kind]");
    var name = row.querySelector("input[name=subject_name]");
    var update = function () { name.setAttribute("list", lists[kind.value] || ""); };
    kind.addEventListener("change", update);
    update();
  }
  var rows = document.querySelectorAll(".subject-row");
  Array.prototype.forEach.call(rows, follow);
  var add = document.getElementById("add-subject");
  if (add && rows.length) {
    add.hidden = false;
    add.addEventListener("click", function () {
      var last = document.querySelectorAll(".subject-row");
      var row = last[last.length - 1].cloneNode(true);
      Array.prototype.forEach.call(row.querySelectorAll("input"), function (input) { input.value = ""; });
      row.querySelector("select").value = "User";
      add.parentNode.insertBefore(row, add);
      follow(row);
    });
  }
});
