// Warns before the server ends an idle session and lets the person extend it (WCAG 2.2.1).
// The server is the authority: this script only asks /sitzung how long is left.
(function () {
  "use strict";
  var box = document.getElementById("session-warning");
  if (!box) { return; }
  var statusUrl = box.getAttribute("data-status-url");
  var extendUrl = box.getAttribute("data-extend-url");
  var warnAt = parseInt(box.getAttribute("data-warn-seconds"), 10) || 120;
  var csrf = box.getAttribute("data-csrf");
  var button = document.getElementById("session-extend");
  var minutes = document.getElementById("session-minutes");
  var timer = null;
  var shown = false;

  function schedule(seconds) {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(check, Math.max(5, seconds) * 1000);
  }

  function show(left) {
    minutes.textContent = String(Math.max(1, Math.ceil(left / 60)));
    if (!shown) {
      box.hidden = false;
      shown = true;
      button.focus();
    }
  }

  function hide() {
    box.hidden = true;
    shown = false;
  }

  function handle(response) {
    if (response.status === 401) { window.location.reload(); return null; }
    return response.json();
  }

  function update(data) {
    if (!data) { return; }
    var left = data.seconds_left;
    if (left <= 0) { window.location.reload(); return; }
    if (left <= warnAt) {
      show(left);
      schedule(Math.min(30, left));
    } else {
      hide();
      schedule(left - warnAt);
    }
  }

  function check() {
    fetch(statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(handle).then(update).catch(function () { schedule(60); });
  }

  button.addEventListener("click", function () {
    fetch(extendUrl, { method: "POST", credentials: "same-origin",
                       headers: { "X-CSRFToken": csrf, "Accept": "application/json" } })
      .then(handle).then(update).catch(function () { schedule(30); });
  });

  // A tab that comes back from the background may have slept through its timer: look again.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { check(); }
  });

  check();
}());
