// pointsync admin UI: small conveniences only; every page works without
// this script.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // The program selector shows its page as soon as a program is chosen.
  var sel = document.getElementById("program-select");
  if (sel && sel.form) {
    var btn = sel.form.querySelector("button");
    if (btn) { btn.classList.add("js-hidden"); }
    sel.addEventListener("change", function () { sel.form.submit(); });
  }
  // A form that writes is sent once: a second click while the first is
  // on its way does nothing (the server would replay it anyway).
  document.querySelectorAll("form[method=post]").forEach(function (f) {
    f.addEventListener("submit", function (ev) {
      if (f.dataset.sent) { ev.preventDefault(); return; }
      f.dataset.sent = "1";
    });
  });
});
