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
