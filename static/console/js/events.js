// Events stream: choosing a type submits the filters; rows that arrive live are marked when they are Warnings.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("event-filters");
  if (form) form.elements.type.addEventListener("change", function () { form.submit(); });
  var table = document.querySelector("table.events-stream");
  if (!table) return;
  table.addEventListener("live:row", function (event) {
    var row = event.detail.row;
    if (!row || event.detail.event.type === "DELETED") return;
    var headers = table.tHead.rows[0].cells;
    for (var i = 0; i < headers.length; i++) {
      if (headers[i].getAttribute("data-column") === "Type" && row.cells[i]) {
        row.classList.toggle("event-warning", row.cells[i].textContent === "Warning");
      }
    }
  });
});
