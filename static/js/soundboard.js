// The soundboard: a WebSocket for live counts, clip playback with loudness gain, keyboard, favourites.
(function () {
  "use strict";
  var config = window.soundboardConfig || {};
  var socket = null;
  var playing = [];
  var volumeInput = document.getElementById("sb-volume");
  var volume = parseFloat(localStorage.getItem("sb-volume") || "0.8");
  if (volumeInput) {
    volumeInput.value = volume;
    volumeInput.addEventListener("input", function () {
      volume = parseFloat(volumeInput.value);
      localStorage.setItem("sb-volume", String(volume));
      playing.forEach(function (a) { a.volume = gainVolume(a.dataset.gain); });
    });
  }

  function gainVolume(gainDb) {
    var factor = Math.pow(10, (parseFloat(gainDb) || 0) / 20);
    return Math.max(0, Math.min(1, volume * factor));
  }

  function formatNumber(n) { return Number(n).toLocaleString("en-US"); }

  function play(item) {
    var audio = new Audio(item.dataset.url);
    audio.dataset.gain = item.dataset.gain || "0";
    audio.volume = gainVolume(audio.dataset.gain);
    playing.push(audio);
    audio.addEventListener("ended", function () { playing = playing.filter(function (a) { return a !== audio; }); });
    audio.play().catch(function () {});
    return audio;
  }

  function stopAll() {
    playing.forEach(function (a) { a.pause(); });
    playing = [];
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(message));
      return;
    }
    // No socket (yet): the HTTP route counts the click the same way.
    fetch("/api/soundboard/click", {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-CSRFToken": window.themeboard.csrfToken()},
      body: JSON.stringify(message),
    }).then(function (r) { return r.json(); }).then(function (body) {
      if (body.counter !== undefined) setCounter(body.counter);
    }).catch(function () {});
  }

  function setCounter(value) {
    var counter = document.getElementById("sb-counter");
    if (counter) { counter.textContent = formatNumber(value); counter.dataset.counter = value; }
  }

  function showBanner(text, seconds) {
    var banner = document.getElementById("sb-banner");
    if (!banner) return;
    banner.textContent = text;
    banner.hidden = false;
    clearTimeout(showBanner.timer);
    showBanner.timer = setTimeout(function () { banner.hidden = true; }, (seconds || 10) * 1000);
  }

  function handle(message) {
    if (message.type === "counterUpdate") {
      setCounter(message.counter);
      var summary = message.statistics && message.statistics.summary;
      if (summary) {
        var today = document.getElementById("sb-today");
        if (today) today.textContent = formatNumber(summary.daily);
        document.querySelectorAll("[data-summary]").forEach(function (el) {
          var key = el.dataset.summary;
          if (summary[key] !== undefined) el.textContent = key === "average" ? summary[key] : formatNumber(summary[key]);
        });
      }
    } else if (message.type === "soundClick") {
      document.querySelectorAll('[data-sound="' + CSS.escape(message.soundFilename) + '"] [data-count]').forEach(function (el) {
        el.textContent = formatNumber(message.count);
      });
    } else if (message.type === "crazyMode") {
      if (localStorage.getItem("sb-crazy") === "on") {
        var item = document.querySelector('[data-sound="' + CSS.escape(message.soundFilename) + '"][data-url]');
        if (item) play(item);
      }
    } else if (message.type === "notification") {
      showBanner(message.text, message.duration);
    } else if (message.type === "soundUpload" || message.type === "soundModify" || message.type === "soundDelete") {
      showBanner("The board changed (" + message.sound.filename + "). Reload to see it.", 6);
    }
  }

  function connect(delay) {
    if (!config.ws || !window.WebSocket) return;
    socket = new WebSocket(config.ws);
    socket.addEventListener("message", function (event) {
      try { handle(JSON.parse(event.data)); } catch (err) { /* ignore malformed */ }
    });
    socket.addEventListener("close", function () {
      socket = null;
      var next = Math.min((delay || 500) * 2, 10000);
      setTimeout(function () { connect(next); }, next);
    });
    document.documentElement.dataset.sbSocket = "connecting";
    socket.addEventListener("open", function () { document.documentElement.dataset.sbSocket = "open"; });
  }

  function randomSound() {
    var items = document.querySelectorAll("[data-sound][data-url]");
    var visible = Array.prototype.filter.call(items, function (el) { return !el.hidden; });
    return visible.length ? visible[Math.floor(Math.random() * visible.length)] : null;
  }

  // The big button: a random sound of this theme, counted toward the global counter.
  var big = document.getElementById("sb-big-button");
  if (big) {
    big.addEventListener("click", function () {
      var item = randomSound();
      if (!item) return;
      play(item);
      send({type: "click", soundFilename: item.dataset.sound});
      big.classList.remove("pulse"); void big.offsetWidth; big.classList.add("pulse");
    });
  }

  // Board buttons: that sound, counted toward its own count.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-board-click]");
    if (button) {
      var item = button.closest("[data-sound]");
      play(item);
      send({type: "sbClick", soundFilename: item.dataset.sound});
      return;
    }
    var all = event.target.closest("[data-play-all]");
    if (all) {
      var items = all.closest(".sb-group").querySelectorAll("[data-sound]:not([hidden])");
      var index = 0;
      (function next() {
        if (index >= items.length) return;
        var audio = play(items[index++]);
        audio.addEventListener("ended", next);
      })();
      return;
    }
    var fav = event.target.closest("[data-favourite]");
    if (fav) {
      var name = fav.closest("[data-sound]").dataset.sound;
      var favourites = loadFavourites();
      if (favourites.indexOf(name) >= 0) favourites.splice(favourites.indexOf(name), 1); else favourites.push(name);
      localStorage.setItem("sb-favourites", JSON.stringify(favourites));
      markFavourites();
      return;
    }
    var share = event.target.closest("[data-share]");
    if (share && navigator.clipboard) {
      event.preventDefault();
      navigator.clipboard.writeText(share.href).then(function () { showBanner("Link copied.", 3); });
    }
  });

  function loadFavourites() {
    try { return JSON.parse(localStorage.getItem("sb-favourites") || "[]"); } catch (err) { return []; }
  }

  function markFavourites() {
    var favourites = loadFavourites();
    document.querySelectorAll(".sb-item").forEach(function (item) {
      var on = favourites.indexOf(item.dataset.sound) >= 0;
      var star = item.querySelector("[data-favourite]");
      if (star) { star.textContent = on ? "★" : "☆"; star.setAttribute("aria-pressed", on ? "true" : "false"); }
      item.classList.toggle("favourite", on);
    });
    applyFilters();
  }

  var search = document.getElementById("sb-search");
  var favouritesOnly = document.getElementById("sb-favourites-only");
  function applyFilters() {
    var text = search ? search.value.trim().toLowerCase() : "";
    var onlyFavs = favouritesOnly && favouritesOnly.checked;
    document.querySelectorAll(".sb-item").forEach(function (item) {
      var match = (!text || item.dataset.name.indexOf(text) >= 0) && (!onlyFavs || item.classList.contains("favourite"));
      item.hidden = !match;
    });
    document.querySelectorAll(".sb-group").forEach(function (group) {
      group.hidden = !group.querySelector(".sb-item:not([hidden])");
    });
  }
  if (search) search.addEventListener("input", applyFilters);
  if (favouritesOnly) favouritesOnly.addEventListener("change", applyFilters);

  var stop = document.getElementById("sb-stop");
  if (stop) stop.addEventListener("click", stopAll);

  document.addEventListener("keydown", function (event) {
    if (event.target.matches("input, textarea, select") || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape") { stopAll(); return; }
    if (event.key === " ") {
      event.preventDefault();
      if (big) { big.click(); return; }
      var item = randomSound();
      if (item) { play(item); send({type: "sbClick", soundFilename: item.dataset.sound}); }
      return;
    }
    var target = document.querySelector('.sb-item[data-key="' + CSS.escape(event.key.toLowerCase()) + '"]:not([hidden]) [data-board-click]');
    if (target) target.click();
  });

  // A shared link (#sound-NAME) highlights that clip.
  if (location.hash.indexOf("#sound-") === 0) {
    var shared = document.getElementById(location.hash.slice(1));
    if (shared) shared.classList.add("shared");
  }

  // Admin: upload with a progress bar, modify and delete through the JSON API.
  var upload = document.querySelector("form[data-sb-upload]");
  if (upload) {
    upload.addEventListener("submit", function (event) {
      event.preventDefault();
      var progress = upload.querySelector("progress");
      var status = upload.querySelector("[data-status]");
      var request = new XMLHttpRequest();
      request.open("POST", upload.dataset.api);
      request.setRequestHeader("X-CSRFToken", window.themeboard.csrfToken());
      request.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) progress.value = Math.round(e.loaded / e.total * 100);
      });
      request.addEventListener("load", function () {
        var body = {};
        try { body = JSON.parse(request.responseText); } catch (err) { body = {}; }
        if (request.status === 200) { status.textContent = body.message; location.reload(); }
        else { status.textContent = (body.name ? body.name + ": " : "") + (body.message || "Upload failed."); status.classList.add("error"); }
      });
      request.send(new FormData(upload));
    });
  }

  function callJson(url, method, data) {
    return fetch(url, {
      method: method,
      headers: {"Content-Type": "application/json", "X-CSRFToken": window.themeboard.csrfToken()},
      body: JSON.stringify(data),
    }).then(function (r) { return r.json().then(function (body) { return {ok: r.ok, body: body}; }); });
  }

  document.addEventListener("click", function (event) {
    var save = event.target.closest("[data-sb-save]");
    if (save) {
      var row = save.closest("tr");
      var data = {id: parseInt(save.dataset.sbSave, 10)};
      row.querySelectorAll("input[name]").forEach(function (input) { data[input.name] = input.value; });
      callJson("/api/admin/sounds/modify", "PATCH", data).then(function (result) {
        save.textContent = result.ok ? "Saved" : (result.body.message || "Failed");
      });
    }
    var remove = event.target.closest("[data-sb-delete]");
    if (remove && confirm("Delete the sound “" + remove.dataset.name + "”? Its file is removed for good.")) {
      callJson("/api/admin/sounds/delete", "DELETE", {id: parseInt(remove.dataset.sbDelete, 10)}).then(function (result) {
        if (result.ok) remove.closest("tr").remove(); else alert(result.body.message);
      });
    }
  });

  document.querySelectorAll("form[data-sb-json]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (form.dataset.confirm && !confirm(form.dataset.confirm)) return;
      var data = {};
      new FormData(form).forEach(function (value, key) { data[key] = value; });
      var status = form.querySelector("[data-status]");
      callJson(form.dataset.sbJson, form.dataset.method, data).then(function (result) {
        if (status) status.textContent = result.body.message || "";
        if (result.ok && !form.hasAttribute("data-keep")) location.reload();
      });
    });
  });

  markFavourites();
  connect(500);
})();
