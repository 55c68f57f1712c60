// Live tail: any table with data-watch-path and data-resource-version follows a watch over /console/ws/watch.
//
// Contract with the pages (list pages, the events stream):
//   <table data-watch-path="/api/v1/namespaces/x/pods" data-resource-version="123"
//          [data-label-selector="…"] [data-field-selector="…"] [data-detail-href="/…/{namespace}/{name}/"]
//          [data-live-order="newest-first"] [data-live-limit="500"]>
//     <thead><tr><th [data-column="Server column name"]>…</th>…</tr></thead>
//     <tbody id="resource-rows"><tr data-uid="…"><td>…</td>…</tr>…</tbody>
// A header cell shows the server Table column named by its data-column (else its text); "Namespace" shows the
// row's namespace. Rows are added, changed and removed in place; "relist" reloads the table from the page itself.
// Every change to a row dispatches a "live:row" event on the table (detail: {row, event}) for page scripts.
"use strict";
(function () {
  var DELAYS = [1000, 2000, 4000, 8000, 15000, 30000];

  function text(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  function Live(table) {
    this.table = table;
    this.tbody = table.querySelector("tbody#resource-rows") || table.tBodies[0];
    this.resourceVersion = table.getAttribute("data-resource-version") || "";
    this.columns = {};
    this.failures = 0;
    this.state = "";
    this.socket = null;
    this.timer = null;
    this.paused = false;
    this.stopped = false;
    this.indicator = this.makeIndicator();
    this.connect();
  }

  Live.prototype.makeIndicator = function () {
    var self = this;
    var box = document.createElement("div");
    box.className = "live-indicator";
    var status = document.createElement("span");
    status.className = "live-state";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "live-toggle";
    button.textContent = "Pause";
    button.addEventListener("click", function () { self.togglePause(); });
    box.appendChild(status);
    box.appendChild(button);
    this.table.parentNode.insertBefore(box, this.table);
    this.status = status;
    this.button = button;
    return box;
  };

  Live.prototype.setState = function (state, message) {
    var labels = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", paused: "Paused",
                   ended: "Session ended: log in again to resume live updates", error: "Live updates stopped" };
    this.state = state;
    this.indicator.setAttribute("data-state", state);
    this.status.textContent = labels[state] + (message ? ": " + message : "");
    this.button.textContent = state === "paused" ? "Resume" : "Pause";
    this.button.hidden = state === "ended" || state === "error";
  };

  Live.prototype.connect = function () {
    var self = this;
    if (this.stopped || this.paused) return;
    this.setState(this.failures ? "reconnecting" : "connecting");
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    var socket = new WebSocket(scheme + "//" + window.location.host + "/console/ws/watch");
    this.socket = socket;
    socket.addEventListener("open", function () {
      socket.send(JSON.stringify({
        action: "watch", path: self.table.getAttribute("data-watch-path"), resourceVersion: self.resourceVersion,
        labelSelector: self.table.getAttribute("data-label-selector") || "",
        fieldSelector: self.table.getAttribute("data-field-selector") || ""
      }));
    });
    socket.addEventListener("message", function (event) {
      if (self.socket === socket) self.handle(JSON.parse(event.data));
    });
    socket.addEventListener("close", function (event) {
      if (self.socket !== socket) return;
      self.socket = null;
      if (event.code === 1008) { self.stopped = true; self.setState("ended"); return; }
      if (self.stopped || self.paused) return;
      self.retry();
    });
  };

  Live.prototype.retry = function () {
    var self = this;
    var delay = DELAYS[Math.min(this.failures, DELAYS.length - 1)];
    this.failures += 1;
    this.setState("reconnecting");
    this.timer = window.setTimeout(function () { self.timer = null; self.connect(); },
                                   delay / 2 + Math.random() * delay / 2);
  };

  Live.prototype.disconnect = function () {
    if (this.timer !== null) { window.clearTimeout(this.timer); this.timer = null; }
    var socket = this.socket;
    this.socket = null;
    if (socket) socket.close(1000);
  };

  Live.prototype.stop = function () {
    this.stopped = true;
    this.disconnect();
  };

  Live.prototype.togglePause = function () {
    if (this.paused) {
      this.paused = false;
      this.failures = 0;
      this.connect();  // resumes from the last resourceVersion: nothing missed while paused
    } else {
      this.paused = true;
      this.disconnect();
      this.setState("paused");
    }
  };

  Live.prototype.handle = function (message) {
    if (message.type === "status") { this.failures = 0; this.setState("live"); return; }
    if (message.type === "columns") { this.setColumns(message.columns); return; }
    if (message.type === "events") {
      for (var i = 0; i < message.events.length; i++) this.apply(message.events[i]);
      if (message.resourceVersion) {
        this.resourceVersion = message.resourceVersion;
        this.table.setAttribute("data-resource-version", message.resourceVersion);
      }
      return;
    }
    if (message.type === "relist") { this.relist(); return; }
    if (message.type === "error") { this.stop(); this.setState("error", message.message); }
  };

  Live.prototype.setColumns = function (columns) {
    this.columns = {};
    for (var i = 0; i < columns.length; i++) this.columns[columns[i].name.toLowerCase()] = i;
  };

  Live.prototype.headers = function () {
    var row = this.table.tHead && this.table.tHead.rows[0];
    var names = [];
    if (!row) return names;
    for (var i = 0; i < row.cells.length; i++) {
      var cell = row.cells[i];
      names.push((cell.getAttribute("data-column") || cell.textContent).replace(/[\u25b2\u25bc]/g, "")
        .trim().toLowerCase());
    }
    return names;
  };

  Live.prototype.findRow = function (uid) {
    var rows = this.tbody.rows;
    for (var i = 0; i < rows.length; i++) if (rows[i].getAttribute("data-uid") === uid) return rows[i];
    return null;
  };

  Live.prototype.apply = function (event) {
    var object = event.object;
    var row = this.findRow(object.uid);
    if (event.type === "DELETED") {
      if (row) row.parentNode.removeChild(row);
      this.showEmpty();
      this.announce(row, event);
      return;
    }
    if (!object.cells) return;
    var isNew = !row;
    if (isNew) row = this.insertRow(object);
    this.fill(row, object, isNew);
    row.classList.remove("live-changed");
    void row.offsetWidth;  // restart the highlight animation
    row.classList.add("live-changed");
    this.announce(row, event);
  };

  Live.prototype.insertRow = function (object) {
    var empty = this.tbody.querySelectorAll("tr:not([data-uid])");
    for (var i = 0; i < empty.length; i++) empty[i].parentNode.removeChild(empty[i]);
    var note = document.getElementById("empty-state");
    if (note) note.hidden = true;
    var row = document.createElement("tr");
    row.setAttribute("data-uid", object.uid);
    if (this.table.getAttribute("data-live-order") === "newest-first") {
      this.tbody.insertBefore(row, this.tbody.firstChild);
      var limit = parseInt(this.table.getAttribute("data-live-limit") || "0", 10);
      while (limit && this.tbody.rows.length > limit) this.tbody.deleteRow(-1);
    } else {
      var before = null;
      for (var j = 0; j < this.tbody.rows.length && !before; j++) {
        var other = this.tbody.rows[j];
        if ((other.getAttribute("data-name") || other.cells[0].textContent.trim()) > object.name) before = other;
      }
      this.tbody.insertBefore(row, before);
    }
    row.setAttribute("data-name", object.name);
    return row;
  };

  Live.prototype.fill = function (row, object, isNew) {
    var names = this.headers();
    for (var i = 0; i < names.length; i++) {
      var index = this.columns[names[i]];
      var value = index !== undefined ? text(object.cells[index]) : names[i] === "namespace" ? object.namespace : null;
      var cell = row.cells[i] || row.insertCell(-1);
      if (value === null) continue;
      var link = cell.querySelector("a");
      if (link) { link.textContent = value; continue; }
      var href = this.table.getAttribute("data-detail-href");
      if (isNew && href && names[i] === "name") {
        link = document.createElement("a");
        link.href = href.replace("{namespace}", encodeURIComponent(object.namespace))
                        .replace("{name}", encodeURIComponent(object.name));
        link.textContent = value;
        cell.appendChild(link);
      } else {
        cell.textContent = value;
      }
    }
  };

  Live.prototype.showEmpty = function () {
    if (this.tbody.rows.length) return;
    var note = document.getElementById("empty-state");
    if (note) { note.hidden = false; return; }
    var row = this.tbody.insertRow(-1);
    var cell = row.insertCell(-1);
    cell.colSpan = this.headers().length || 1;
    cell.className = "empty";
    cell.textContent = "No objects.";
  };

  Live.prototype.announce = function (row, event) {
    this.table.dispatchEvent(new CustomEvent("live:row", { detail: { row: row, event: event } }));
  };

  Live.prototype.relist = function () {
    var self = this;
    this.disconnect();
    this.setState("reconnecting", "re-listing");
    var path = this.table.getAttribute("data-watch-path");
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (response.url.indexOf("/console/login/") !== -1) throw new Error("ended");
        return response.text();
      })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = null;
        page.querySelectorAll("table[data-watch-path]").forEach(function (candidate) {
          if (candidate.getAttribute("data-watch-path") === path) fresh = candidate;
        });
        var body = fresh && (fresh.querySelector("tbody#resource-rows") || fresh.tBodies[0]);
        if (!body) throw new Error("the page no longer shows this list");
        self.tbody.replaceChildren.apply(self.tbody, Array.prototype.slice.call(body.childNodes).map(
          function (node) { return document.importNode(node, true); }));
        self.resourceVersion = fresh.getAttribute("data-resource-version") || "";
        self.table.setAttribute("data-resource-version", self.resourceVersion);
        self.failures = 0;
        self.connect();
      })
      .catch(function (error) {
        if (error.message === "ended") { self.stopped = true; self.setState("ended"); return; }
        self.retry();
      });
  };

  var attached = [];

  function attachAll() {
    attached = attached.filter(function (live) {
      if (document.body.contains(live.table)) return true;
      live.stop();
      if (live.indicator.parentNode) live.indicator.parentNode.removeChild(live.indicator);
      return false;
    });
    document.querySelectorAll("table[data-watch-path][data-resource-version]").forEach(function (table) {
      if (table.hasAttribute("data-live-attached")) return;
      table.setAttribute("data-live-attached", "");
      attached.push(new Live(table));
    });
  }

  document.addEventListener("DOMContentLoaded", attachAll);
  document.addEventListener("htmx:afterSettle", attachAll);  // a swapped-in table gets its own watch
  window.addEventListener("pagehide", function () { attached.forEach(function (live) { live.stop(); }); });
})();
