// Refuses files over a message's limits at the file field, before the form is sent, so the typed
// text stays in the form (a request over the server's limit would end on an error page).
// Progressive enhancement: without this script the server checks the same limits.
// A file input opts in with data-max-file-bytes, data-max-files and data-max-total-bytes, and the
// translated messages data-msg-file (with {name}), data-msg-count and data-msg-total.
(function () {
  "use strict";
  var inputs = document.querySelectorAll("input[type=file][data-max-file-bytes]");

  function problem(input) {
    var files = input.files || [];
    var maxFile = parseInt(input.getAttribute("data-max-file-bytes"), 10);
    var maxFiles = parseInt(input.getAttribute("data-max-files"), 10);
    var maxTotal = parseInt(input.getAttribute("data-max-total-bytes"), 10);
    var total = 0;
    for (var i = 0; i < files.length; i++) {
      if (files[i].size > maxFile) {
        return input.getAttribute("data-msg-file").replace("{name}", files[i].name);
      }
      total += files[i].size;
    }
    if (files.length > maxFiles) { return input.getAttribute("data-msg-count"); }
    if (total > maxTotal) { return input.getAttribute("data-msg-total"); }
    return null;
  }

  function show(input, text) {
    var id = input.id + "-limit-error";
    var box = document.getElementById(id);
    var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (v) {
      return v && v !== id;
    });
    if (!text) {
      if (box) { box.parentNode.removeChild(box); }
      input.removeAttribute("aria-invalid");
      input.setAttribute("aria-describedby", described.join(" "));
      return;
    }
    if (!box) {
      box = document.createElement("p");
      box.id = id;
      box.className = "kern-error";
      box.setAttribute("role", "alert");
      input.parentNode.insertBefore(box, input.nextSibling);
    }
    box.textContent = text;
    input.setAttribute("aria-invalid", "true");
    described.push(id);
    input.setAttribute("aria-describedby", described.join(" "));
  }

  function check(input) {
    var text = problem(input);
    show(input, text);
    if (text) { input.value = ""; }  // nothing over the limit is sent; the text fields keep their input
    return !text;
  }

  Array.prototype.forEach.call(inputs, function (input) {
    input.addEventListener("change", function () { check(input); });
    if (input.form) {
      input.form.addEventListener("submit", function (event) {
        if (!check(input)) {
          event.preventDefault();
          input.focus();
        }
      });
    }
  });
})();
