// Resource pages: copy buttons, the on-page row filter, the all-namespaces switch. No inline script anywhere.
"use strict";
(function () {
  function copyText(text, status) {
    function done(message) { if (status) status.textContent = message; }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done("Copied"); }, function () { done("Copy failed: select the text and copy it"); });
      return;
    }
    done("Select the text and copy it");
  }

  function setUpCopy(button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source) return;
      var status = button.parentElement ? button.parentElement.querySelector(".copied") : null;
      copyText(source.textContent, status);
    });
  }

  function setUpRowFilter(input) {
    var selector = input.getAttribute("data-filter-rows");
    input.addEventListener("input", function () {
      var needle = input.value.trim().toLowerCase();
      Array.prototype.forEach.call(document.querySelectorAll(selector), function (row) {
        var text = (row.getAttribute("data-filter-text") || row.textContent).toLowerCase();
        row.hidden = needle !== "" && text.indexOf(needle) === -1;
      });
      var groups = input.getAttribute("data-filter-groups");
      if (!groups) return;
      Array.prototype.forEach.call(document.querySelectorAll(groups), function (group) {
        group.hidden = group.querySelector("tbody tr:not([hidden])") === null;
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), setUpCopy);
    Array.prototype.forEach.call(document.querySelectorAll("input[data-filter-rows]"), setUpRowFilter);
    var all = document.getElementById("all-namespaces");
    var namespace = document.getElementById("namespace");
    if (all && namespace) {
      all.addEventListener("change", function () { namespace.disabled = all.checked; });
    }
    var limit = document.getElementById("limit");
    if (limit && limit.form) limit.addEventListener("change", function () { limit.form.submit(); });
  });
})();
