// The Health page: swap in freshly rendered panels every few seconds (server-rendered HTML from our own
// template, so everything in it is already escaped); pause while the tab is hidden; show when updates fail.
(function () {
  "use strict";
  var panels = document.getElementById("health-panels");
  var state = document.getElementById("health-refresh-state");
  if (!panels || !window.fetch) {
    return;
  }
  var seconds = parseInt(panels.getAttribute("data-refresh-seconds"), 10) || 10;
  var source = panels.getAttribute("data-source");
  var live = state ? state.parentNode : null;

  function report(text, stale) {
    if (state) {
      state.textContent = text;
    }
    if (live) {
      live.classList.toggle("is-stale", stale);
    }
  }

  function refresh() {
    if (document.hidden) {
      return;
    }
    fetch(source, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (response.redirected || response.status === 401) {
          window.location.reload();  // the session ended: the page itself goes to login
          return null;
        }
        return response.text();
      })
      .then(function (html) {
        if (html !== null) {
          panels.innerHTML = html;
          report("Updated " + new Date().toLocaleTimeString(), false);
        }
      })
      .catch(function () {
        report("Reconnecting…", true);
      });
  }

  window.setInterval(refresh, seconds * 1000);
  document.addEventListener("visibilitychange", refresh);
})();
