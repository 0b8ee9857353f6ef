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
        { code: "413", swap: true },  // "Max 50 MB", retargeted by the server into the form's error slot
        { code: "[45]..", swap: false, error: true },
      ];
      htmx.config.historyCacheSize = 10;
    }
  });

  // <input type="file" data-max-bytes="52428800" data-max-label="50 MB">: refuse a file over the
  // limit before uploading it; the message goes into the form's [data-form-error] slot.
  function checkFileSizes(input) {
    var max = parseInt(input.getAttribute("data-max-bytes"), 10);
    var message = "";
    Array.prototype.forEach.call(input.files || [], function (file) {
      if (!message && max && file.size > max) {
        message = "“" + file.name + "” is " + (file.size / 1048576).toFixed(1) + " MB: too large. Max " + input.getAttribute("data-max-label") + ".";
      }
    });
    var files = input.files || [];
    var total = Array.prototype.reduce.call(files, function (sum, file) { return sum + file.size; }, 0);
    if (!message && max && files.length > 1 && total > max) {
      message = "These " + files.length + " files add up to " + (total / 1048576).toFixed(1) + " MB: too large. Max " + input.getAttribute("data-max-label") + " per upload; send fewer at once.";
    }
    input.setCustomValidity(message);
    var slot = input.form && input.form.querySelector("[data-form-error]");
    if (slot) slot.textContent = message;
    return message === "";
  }
  // Capture phase: before a form that uploads on "change" (htmx) sees the event.
  document.addEventListener("change", function (event) {
    if (event.target.matches("input[type=file][data-max-bytes]") && !checkFileSizes(event.target)) event.stopPropagation();
  }, true);
  // <form data-reset-on-success>: empty the form once htmx's request for it succeeded.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.matches && form.matches("form[data-reset-on-success]") && event.detail.successful) form.reset();
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var inputs = form.querySelectorAll ? form.querySelectorAll("input[type=file][data-max-bytes]") : [];
    for (var i = 0; i < inputs.length; i++) {
      if (!checkFileSizes(inputs[i])) { event.preventDefault(); event.stopPropagation(); return; }
    }
  }, true);

  // Upload progress for htmx forms: <progress data-upload-progress> inside the form.
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest ? event.target.closest("form") : null;
    var bar = form && form.querySelector("progress[data-upload-progress]");
    if (bar && event.detail.total) bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
  });
  // A request that never got an answer (connection refused or cut): say so in the form.
  document.addEventListener("htmx:sendError", function (event) {
    var form = event.target.closest ? event.target.closest("form") : null;
    var slot = form && form.querySelector("[data-form-error]");
    if (slot) slot.textContent = "The request did not reach the server (a file over the limit is refused): try again.";
  });

  // History snapshots copy the DOM, not what was typed or chosen: write the controls' current
  // state into their attributes first, so Back shows the search and choices that made the list.
  document.addEventListener("htmx:beforeHistorySave", function () {
    document.querySelectorAll("input, select, textarea").forEach(function (control) {
      if (control.type === "file" || control.type === "password" || control.type === "hidden") return;
      if (control.tagName === "SELECT") {
        Array.prototype.forEach.call(control.options, function (option) { option.toggleAttribute("selected", option.selected); });
      } else if (control.type === "checkbox" || control.type === "radio") {
        control.toggleAttribute("checked", control.checked);
      } else if (control.tagName === "TEXTAREA") {
        control.textContent = control.value;
      } else {
        control.setAttribute("value", control.value);
      }
    });
  });

  // Copy buttons: <button data-copy="#selector">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    var text = source.tagName === "TEXTAREA" || source.tagName === "INPUT" ? source.value : source.textContent;
    navigator.clipboard.writeText(text.trim()).then(function () {
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
