// The offline page: the last balance this device saw, with its time.
(function () {
  "use strict";
  try {
    var last = JSON.parse(localStorage.getItem("ww_last") || "null");
    if (last && last.balance) {
      document.getElementById("last-balance").textContent = last.balance;
      document.getElementById("last-at").textContent = last.at;
      document.getElementById("last-service").textContent = last.service;
      document.getElementById("last").hidden = false;
      document.getElementById("none").hidden = true;
    }
  } catch (e) { /* nothing saved */ }
})();
