// The soundboard: one live socket per tab, clip playback with loudness gain, keyboard, favourites.
//
// Boosted navigation swaps the body and runs this file again on every soundboard page, so it sets
// itself up once: every listener is on `document` (delegated), one socket lives for as long as a
// soundboard page is shown, and `mount()` re-reads the current page after each swap, Back and
// Forward included. Leaving the soundboard closes the socket.
(function () {
  "use strict";
  if (window.themeboardSoundboard) {
    window.themeboardSoundboard.mount();
    return;
  }
  var board = {socket: null, url: null, retryDelay: 500, retryTimer: null, playing: []};
  window.themeboardSoundboard = board;

  function root() { return document.getElementById("soundboard"); }
  function storedVolume() { return parseFloat(localStorage.getItem("sb-volume") || "0.8"); }
  function formatNumber(n) { return Number(n).toLocaleString("en-US"); }

  function gainVolume(gainDb) {
    var factor = Math.pow(10, (parseFloat(gainDb) || 0) / 20);
    return Math.max(0, Math.min(1, storedVolume() * factor));
  }

  function play(item) {
    var audio = new Audio(item.dataset.url);
    audio.dataset.gain = item.dataset.gain || "0";
    audio.volume = gainVolume(audio.dataset.gain);
    board.playing.push(audio);
    audio.addEventListener("ended", function () {
      board.playing = board.playing.filter(function (a) { return a !== audio; });
    });
    audio.play().catch(function () {});
    return audio;
  }

  function stopAll() {
    board.playing.forEach(function (a) { a.pause(); });
    board.playing = [];
  }

  function send(message) {
    if (board.socket && board.socket.readyState === WebSocket.OPEN) {
      board.socket.send(JSON.stringify(message));
      return;
    }
    var el = root();
    if (!el) return;
    // No socket (yet): the HTTP route counts the click the same way.
    fetch(el.dataset.clickUrl, {
      method: "POST",
      headers: {"Content-Type": "application/json"},
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
      if (message.count === undefined) return;
      document.querySelectorAll('[data-sound="' + CSS.escape(message.soundFilename) + '"] [data-count]').forEach(function (el) {
        el.textContent = formatNumber(message.count);
      });
    } else if (message.type === "crazyMode") {
      if (localStorage.getItem("sb-crazy") === "on") {
        var item = document.querySelector('[data-sound="' + CSS.escape(message.soundFilename) + '"][data-url]');
        if (item) play(item);
      }
    } else if (message.type === "notification") {
      var note = message.notification || message;
      showBanner(note.text, note.duration);
    } else if (message.type === "soundUpload" || message.type === "soundModify" || message.type === "soundDelete") {
      showBanner("The board changed (" + message.sound.filename + "). Reload to see it.", 6);
    }
  }

  // The page's own host and scheme (wss: under https:), whatever the server thought they were.
  function socketUrl(address) {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + location.host + new URL(address, location.href).pathname;
  }

  function connect() {
    var el = root();
    if (!el || !window.WebSocket) return;
    var url = socketUrl(el.dataset.ws);
    if (board.socket && board.url === url && board.socket.readyState <= WebSocket.OPEN) return;
    disconnect();
    board.url = url;
    var socket = board.socket = new WebSocket(url);
    document.documentElement.dataset.sbSocket = "connecting";
    socket.addEventListener("open", function () {
      board.retryDelay = 500;
      document.documentElement.dataset.sbSocket = "open";
    });
    socket.addEventListener("message", function (event) {
      try { handle(JSON.parse(event.data)); } catch (err) { /* ignore malformed */ }
    });
    socket.addEventListener("close", function () {
      if (board.socket !== socket) return;  // replaced or closed on purpose
      board.socket = null;
      document.documentElement.dataset.sbSocket = "closed";
      if (!root()) return;
      board.retryDelay = Math.min(board.retryDelay * 2, 10000);
      board.retryTimer = setTimeout(connect, board.retryDelay);
    });
  }

  function disconnect() {
    clearTimeout(board.retryTimer);
    var socket = board.socket;
    board.socket = null;
    if (socket) socket.close(1000);
    delete document.documentElement.dataset.sbSocket;
  }

  function randomSound() {
    var items = document.querySelectorAll("[data-sound][data-url]");
    var visible = Array.prototype.filter.call(items, function (el) { return !el.hidden; });
    return visible.length ? visible[Math.floor(Math.random() * visible.length)] : null;
  }

  function clickBigButton(big) {
    var item = randomSound();
    if (!item) return;
    play(item);
    send({type: "click", soundFilename: item.dataset.sound});
    big.classList.remove("pulse"); void big.offsetWidth; big.classList.add("pulse");
  }

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

  function applyFilters() {
    var search = document.getElementById("sb-search");
    var favouritesOnly = document.getElementById("sb-favourites-only");
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

  // --- listeners, registered once ------------------------------------------------------------

  document.addEventListener("click", function (event) {
    if (!root()) return;
    var big = event.target.closest("#sb-big-button");
    if (big) { clickBigButton(big); return; }
    var button = event.target.closest("[data-board-click]");
    if (button) {
      var item = button.closest("[data-sound]");
      play(item);
      send({type: "sbClick", soundFilename: item.dataset.sound});
      return;
    }
    if (event.target.closest("#sb-stop")) { stopAll(); return; }
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

  document.addEventListener("input", function (event) {
    if (event.target.id === "sb-volume") {
      localStorage.setItem("sb-volume", String(parseFloat(event.target.value)));
      board.playing.forEach(function (a) { a.volume = gainVolume(a.dataset.gain); });
    } else if (event.target.id === "sb-search") {
      applyFilters();
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.id === "sb-favourites-only") applyFilters();
  });

  document.addEventListener("keydown", function (event) {
    if (!root()) return;
    if (event.target.matches("input, textarea, select") || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape") { stopAll(); return; }
    if (event.key === " ") {
      event.preventDefault();
      var big = document.getElementById("sb-big-button");
      if (big) { clickBigButton(big); return; }
      var item = randomSound();
      if (item) { play(item); send({type: "sbClick", soundFilename: item.dataset.sound}); }
      return;
    }
    var target = document.querySelector('.sb-item[data-key="' + CSS.escape(event.key.toLowerCase()) + '"]:not([hidden]) [data-board-click]');
    if (target) { event.preventDefault(); target.click(); }
  });


  // --- admin: a row's Save and Delete through the JSON API (uploads and milestones are htmx forms) --

  function csrfToken() { return window.themeboard ? window.themeboard.csrfToken() : ""; }

  function callJson(url, method, data) {
    return fetch(url, {
      method: method,
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
      body: JSON.stringify(data),
    }).then(function (r) { return r.json().then(function (body) { return {ok: r.ok, body: body}; }); });
  }

  document.addEventListener("click", function (event) {
    var save = event.target.closest("[data-sb-save]");
    if (save) {
      var row = save.closest("tr");
      var data = {id: parseInt(save.dataset.sbSave, 10)};
      row.querySelectorAll("input[name]").forEach(function (input) { data[input.name] = input.value; });
      callJson(save.dataset.api, "PATCH", data).then(function (result) {
        save.textContent = result.ok ? "Saved" : (result.body.message || "Failed");
      });
      return;
    }
    var remove = event.target.closest("[data-sb-delete]");
    if (remove && confirm("Delete the sound “" + remove.dataset.name + "”? Its file is removed for good.")) {
      callJson(remove.dataset.api, "DELETE", {id: parseInt(remove.dataset.sbDelete, 10)}).then(function (result) {
        if (result.ok) remove.closest("tr").remove(); else alert(result.body.message);
      });
    }
  });

  // --- set-up for whichever page is shown ----------------------------------------------------

  board.mount = function () {
    if (!root()) { disconnect(); return; }
    var volume = document.getElementById("sb-volume");
    if (volume) volume.value = storedVolume();
    markFavourites();
    if (location.hash.indexOf("#sound-") === 0) {
      var shared = document.getElementById(location.hash.slice(1));
      if (shared) shared.classList.add("shared");
    }
    connect();
  };
  document.addEventListener("htmx:afterSettle", board.mount);
  document.addEventListener("htmx:historyRestore", board.mount);
  window.addEventListener("pageshow", function (event) { if (event.persisted) board.mount(); });
  board.mount();
})();
