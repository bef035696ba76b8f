// Optional niceties; every page works without JavaScript.
document.addEventListener("DOMContentLoaded", function () {
  // move keyboard and screen-reader focus to the error summary
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
  // a double tap sends a form once (the server is idempotent anyway)
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
      setTimeout(function () { delete form.dataset.sent; }, 5000);
    });
  });
});
// a page whose content is still being prepared (an export job) reloads itself; without
// JavaScript it has a link to do so
document.addEventListener("DOMContentLoaded", function () {
  var waiting = document.querySelector("[data-refresh-seconds]");
  if (waiting) {
    var seconds = parseInt(waiting.dataset.refreshSeconds, 10) || 5;
    setTimeout(function () { window.location.reload(); }, seconds * 1000);
  }
});
