// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
  }
  // The home page's balance, kept on this device for the offline page (with its time).
  var balance = document.getElementById("balance");
  if (balance && window.localStorage) {
    try {
      localStorage.setItem("ww_last", JSON.stringify({
        balance: balance.getAttribute("data-balance"),
        at: balance.getAttribute("data-at"),
        service: balance.getAttribute("data-service")
      }));
    } catch (e) { /* storage full or refused: nothing to keep */ }
  }
  // Signing out forgets it.
  var out = document.querySelector("form.signout");
  if (out && window.localStorage) {
    out.addEventListener("submit", function () { try { localStorage.removeItem("ww_last"); } catch (e) {} });
  }
  // The recharge tracker refreshes itself until the supply is back.
  function poll() {
    var tracker = document.getElementById("tracker");
    if (!tracker) { return; }
    var url = tracker.getAttribute("data-poll");
    if (!url) { return; }
    window.setTimeout(function () {
      fetch(url, { credentials: "same-origin" }).then(function (r) {
        return r.ok ? r.text() : null;
      }).then(function (html) {
        if (html === null) { return; }
        var box = document.createElement("div");
        box.innerHTML = html;
        var fresh = box.querySelector("#tracker");
        if (fresh) { tracker.replaceWith(fresh); poll(); }
      }).catch(function () { poll(); });
    }, 2000);
  }
  poll();
})();
