// Small behaviours shared by every page. Feature scripts live beside this file.
(function () {
  "use strict";

  // htmx: let 422 (validation) and 4xx responses swap so forms re-render with their errors.
  document.addEventListener("DOMContentLoaded", function () {
    if (window.htmx) {
      htmx.config.responseHandling = [
        { code: "204", swap: false },
        { code: "[23]..", swap: true },
        { code: "422", swap: true },
        { code: "429", swap: true },  // the rate-limit page says how long to wait
        { code: "[45]..", swap: false, error: true },
      ];
      htmx.config.historyCacheSize = 10;
    }
  });

  // Copy buttons: <button data-copy="#selector">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      button.textContent = "Copied";
    });
  });

  // The phone menu: a real button (keyboard and screen readers), its state in aria-expanded.
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest(".nav-toggle");
    if (!toggle) return;
    var open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
  });
  document.addEventListener("keydown", function (event) {
    var toggle = document.querySelector('.nav-toggle[aria-expanded="true"]');
    if (event.key !== "Escape" || !toggle) return;
    toggle.setAttribute("aria-expanded", "false");
    toggle.focus();
  });

  // <select data-autosubmit> submits its form as soon as a choice is made.
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]") && event.target.form) event.target.form.requestSubmit();
  });

  // The CSRF token for fetch() calls made by feature scripts.
  window.themeboard = window.themeboard || {};
  window.themeboard.csrfToken = function () {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  };
})();
