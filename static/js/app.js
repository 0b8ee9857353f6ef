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

  window.themeboard = window.themeboard || {};

  // Page scripts run again whenever boosted navigation or Back brings their page in. A listener on
  // the document goes through listen(): the new run replaces the old one instead of adding a second.
  var listeners = {};
  window.themeboard.listen = function (key, type, handler, capture) {
    var previous = listeners[key];
    if (previous) document.removeEventListener(previous.type, previous.handler, previous.capture);
    listeners[key] = { type: type, handler: handler, capture: !!capture };
    document.addEventListener(type, handler, !!capture);
  };

  // onLeave(fn): undo a page's set-up (timers, sockets, listeners on long-lived objects) when htmx
  // swaps out its <main>, by boosted navigation or a history restore.
  var leaving = [];
  window.themeboard.onLeave = function (fn) { leaving.push(fn); };
  document.addEventListener("htmx:beforeCleanupElement", function (event) {
    if (event.target.id !== "main") return;
    var fns = leaving;
    leaving = [];
    fns.forEach(function (fn) { try { fn(); } catch (err) { console.error(err); } });
  });

  // Menus (<details class="add-menu">) behave like menus: one open at a time, closed by a click
  // outside or by Escape (which gives focus back to the menu's button).
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!menu.matches || !menu.matches("details.add-menu") || !menu.open) return;
    document.querySelectorAll("details.add-menu[open]").forEach(function (other) { if (other !== menu) other.open = false; });
  }, true);
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.add-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });
  // The server says a menu has done its job (HX-Trigger: playlist-menu-done): close it.
  document.addEventListener("playlist-menu-done", function (event) {
    var menu = event.target.closest && event.target.closest("details.add-menu");
    if (menu) menu.open = false;
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var menu = event.target.closest && event.target.closest("details.add-menu[open]");
    if (!menu) return;
    menu.open = false;
    menu.querySelector("summary").focus();
  });

  // The CSRF token for fetch() calls made by feature scripts.
  window.themeboard.csrfToken = function () {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  };
})();
