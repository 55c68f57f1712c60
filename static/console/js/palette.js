// The command palette: ":" or Ctrl+K opens it; type a resource (":pods", "deploy", "svc") or "ns NAME" to jump.
// Data comes from /console/resources/palette.json (discovery and your namespaces, asked as you). No inline script.
"use strict";
(function () {
  var DATA_URL = "/console/resources/palette.json";
  var data = null;
  var loading = null;
  var dialog, input, list, hint, opener;
  var options = [];
  var active = 0;

  function load() {
    if (data) return Promise.resolve(data);
    if (!loading) {
      loading = fetch(DATA_URL, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (answer) { data = answer; return data; })
        .catch(function (error) { loading = null; throw error; });
    }
    return loading;
  }

  function currentNamespace() {
    var params = new URLSearchParams(window.location.search);
    if (params.get("all") === "1") return "";
    var holder = document.getElementById("resource-table") || document.getElementById("resource-detail");
    return params.get("namespace") || (holder && holder.getAttribute("data-namespace")) || "";
  }

  function namespaceUrl(name) {
    var onList = document.getElementById("resource-table") && document.getElementById("all-namespaces");
    var base = onList ? window.location.pathname : "/console/";
    return base + "?namespace=" + encodeURIComponent(name);
  }

  function resourceScore(resource, needle) {
    var names = [resource.plural, resource.singular, resource.kind.toLowerCase()].concat(resource.shortNames);
    if (resource.group) names.push(resource.plural + "." + resource.group);
    var best = 9;
    names.forEach(function (name) {
      if (name === needle) best = Math.min(best, 0);
      else if (name.indexOf(needle) === 0) best = Math.min(best, 1);
      else if (name.indexOf(needle) !== -1) best = Math.min(best, 2);
    });
    return best;
  }

  function build(query) {
    var text = query.trim().replace(/^:/, "").trim().toLowerCase();
    var results = [];
    var nsMatch = /^(ns|namespace|namespaces)\s+(.*)$/.exec(text);
    if (nsMatch) {
      var wanted = nsMatch[2].trim();
      data.namespaces.forEach(function (name) {
        if (name.indexOf(wanted) !== -1) results.push({ label: "Namespace " + name, detail: "", url: namespaceUrl(name) });
      });
      if (wanted && data.namespaces.indexOf(wanted) === -1 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(wanted)) {
        results.push({ label: "Namespace " + wanted, detail: "not among the namespaces found for you", url: namespaceUrl(wanted) });
      }
      return results;
    }
    var namespace = currentNamespace();
    var scored = [];
    data.resources.forEach(function (resource, index) {
      var score = text ? resourceScore(resource, text) : 3;
      if (score < 9) scored.push({ score: score, index: index, resource: resource });
    });
    scored.sort(function (a, b) { return a.score - b.score || a.index - b.index; });
    scored.slice(0, 50).forEach(function (entry) {
      var resource = entry.resource;
      var url = resource.url + (resource.namespaced && namespace ? "?namespace=" + encodeURIComponent(namespace) : "");
      var names = resource.shortNames.length ? " (" + resource.shortNames.join(", ") + ")" : "";
      results.push({ label: resource.plural + names, detail: resource.kind + " · " + (resource.group || "core"), url: url });
    });
    if (text) {
      data.namespaces.forEach(function (name) {
        if (name.indexOf(text) !== -1) results.push({ label: "Namespace " + name, detail: "", url: namespaceUrl(name) });
      });
    }
    return results;
  }

  function render() {
    list.textContent = "";
    options.forEach(function (option, index) {
      var item = document.createElement("li");
      item.id = "palette-option-" + index;
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", index === active ? "true" : "false");
      var label = document.createElement("span");
      label.className = "palette-label";
      label.textContent = option.label;
      item.appendChild(label);
      if (option.detail) {
        var detail = document.createElement("span");
        detail.className = "palette-detail";
        detail.textContent = option.detail;
        item.appendChild(detail);
      }
      item.addEventListener("mousedown", function (event) { event.preventDefault(); go(index); });
      list.appendChild(item);
    });
    input.setAttribute("aria-expanded", options.length ? "true" : "false");
    if (options.length) {
      input.setAttribute("aria-activedescendant", "palette-option-" + active);
      var chosen = document.getElementById("palette-option-" + active);
      if (chosen && chosen.scrollIntoView) chosen.scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
    hint.textContent = options.length ? options.length + " result" + (options.length === 1 ? "" : "s") : "No match";
  }

  function update() {
    if (!data) return;
    options = build(input.value);
    active = 0;
    render();
  }

  function go(index) {
    var option = options[index];
    if (option) window.location.assign(option.url);
  }

  function create() {
    dialog = document.createElement("dialog");
    dialog.className = "palette";
    dialog.setAttribute("role", "dialog");
    dialog.setAttribute("aria-modal", "true");
    dialog.setAttribute("aria-labelledby", "palette-title");
    var title = document.createElement("h2");
    title.id = "palette-title";
    title.className = "palette-title";
    title.textContent = "Go to a resource or namespace";
    input = document.createElement("input");
    input.id = "palette-input";
    input.type = "text";
    input.autocomplete = "off";
    input.spellcheck = false;
    input.placeholder = "pods, deploy, svc, ns kube-system…";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", "palette-options");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-labelledby", "palette-title");
    list = document.createElement("ul");
    list.id = "palette-options";
    list.className = "palette-options";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Matches");
    hint = document.createElement("p");
    hint.className = "palette-hint";
    hint.setAttribute("role", "status");
    hint.setAttribute("aria-live", "polite");
    var keys = document.createElement("p");
    keys.className = "palette-keys";
    keys.textContent = "↑ ↓ to choose, Enter to go, Esc to close";
    dialog.appendChild(title);
    dialog.appendChild(input);
    dialog.appendChild(list);
    dialog.appendChild(hint);
    dialog.appendChild(keys);
    document.body.appendChild(dialog);

    input.addEventListener("input", update);
    dialog.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (!options.length) return;
        active = (active + (event.key === "ArrowDown" ? 1 : options.length - 1)) % options.length;
        render();
      } else if (event.key === "Enter") {
        event.preventDefault();
        if (data) go(active);
        else load().then(function () { update(); go(0); }, function () {});
      } else if (event.key === "Escape") {
        event.preventDefault();
        close();
      } else if (event.key === "Tab") {
        event.preventDefault();  // the focus trap: the input is the dialog's only stop
        input.focus();
      }
    });
    dialog.addEventListener("cancel", function (event) { event.preventDefault(); close(); });
    dialog.addEventListener("click", function (event) { if (event.target === dialog) close(); });
  }

  function open(initial) {
    if (!dialog) create();
    if (dialog.open) return;
    opener = document.activeElement;
    input.value = initial || "";
    options = [];
    list.textContent = "";
    hint.textContent = "Loading…";
    dialog.showModal();
    input.focus();
    load().then(update, function (error) { hint.textContent = "Could not load the palette: " + error.message; });
  }

  function close() {
    if (!dialog || !dialog.open) return;
    dialog.close();
    if (opener && opener.focus) opener.focus();
  }

  function typing(target) {
    return target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement ||
      target instanceof HTMLSelectElement || (target && target.isContentEditable);
  }

  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && (event.key === "k" || event.key === "K")) {
      event.preventDefault();
      open("");
    } else if (event.key === ":" && !event.ctrlKey && !event.metaKey && !event.altKey && !typing(event.target)) {
      event.preventDefault();
      open("");
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-open-palette]"), function (button) {
      button.addEventListener("click", function () { open(""); });
    });
  });
})();
