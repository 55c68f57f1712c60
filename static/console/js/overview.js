// Overview: choosing a namespace from the list submits the form (the button still works without JS).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var input = document.getElementById("namespace");
  var list = document.getElementById("namespace-names");
  if (!input || !list) return;
  input.addEventListener("change", function () {
    var known = Array.prototype.some.call(list.options, function (option) { return option.value === input.value; });
    if (known) input.form.submit();
  });
});
