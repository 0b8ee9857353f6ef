// Tracks pages: drag-and-drop onto the upload form, waveforms, the player preview, the embed player.
// Uploads, saves and deletes are htmx forms answered by tracks' HTML views; rows play in the layout's player.
(function () {
  "use strict";
  // The embed page runs this script without the layout's app.js.
  var listen = window.themeboard && window.themeboard.listen || function (key, type, handler) { document.addEventListener(type, handler); };

  function formatTime(seconds) {
    seconds = Math.max(0, Math.floor(seconds || 0));
    return Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
  }

  function drawWaveform(canvas, peaks, progress, color) {
    var ctx = canvas.getContext("2d");
    var width = canvas.width, height = canvas.height;
    ctx.clearRect(0, 0, width, height);
    var bar = width / peaks.length;
    peaks.forEach(function (peak, index) {
      var h = Math.max(2, peak * height);
      ctx.fillStyle = index / peaks.length <= progress ? color : "rgba(180,185,230,.45)";
      ctx.fillRect(index * bar, (height - h) / 2, Math.max(1, bar - 1), h);
    });
  }

  function attachWaveform(canvas, audio, color) {
    fetch(canvas.dataset.waveform || canvas.closest("[data-waveform]").dataset.waveform)
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var peaks = data.peaks || [];
        var redraw = function () {
          var progress = audio && audio.duration ? audio.currentTime / audio.duration : 0;
          drawWaveform(canvas, peaks, progress, color);
        };
        redraw();
        if (audio) {
          audio.addEventListener("timeupdate", redraw);
          canvas.addEventListener("click", function (event) {
            var rect = canvas.getBoundingClientRect();
            var ratio = (event.clientX - rect.left) / rect.width;
            var seek = function () { audio.currentTime = ratio * audio.duration; redraw(); };
            if (audio.readyState >= 1) seek(); else audio.addEventListener("loadedmetadata", seek, {once: true});
          });
        }
      });
  }

  function attachPlayerWaveform(canvas, item, color) {
    var player = window.themeboard && window.themeboard.player;
    if (!player || !item) return;
    fetch(canvas.dataset.waveform)
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var peaks = data.peaks || [];
        var redraw = function () {
          var audio = player.audio;
          var progress = player.isCurrent(item) && audio.duration ? audio.currentTime / audio.duration : 0;
          drawWaveform(canvas, peaks, progress, color);
        };
        var follow = function () {
          // The track list replaces itself while tracks process: a canvas it dropped stops listening.
          if (!canvas.isConnected) { forget(); return; }
          redraw();
        };
        var forget = function () { player.audio.removeEventListener("timeupdate", follow); };
        redraw();
        player.audio.addEventListener("timeupdate", follow);
        window.themeboard.onLeave(forget);
        canvas.addEventListener("click", function (event) {
          var rect = canvas.getBoundingClientRect();
          var ratio = (event.clientX - rect.left) / rect.width;
          if (!player.isCurrent(item)) player.playElement(item);
          player.seekRatio(ratio);
        });
      });
  }

  function setUp(root) {
    // Player colours come in data-player-color (the Content-Security-Policy refuses inline styles).
    root.querySelectorAll("[data-player-color]").forEach(function (element) {
      element.style.setProperty("--player", element.dataset.playerColor);
    });
    // Collection rows play in the layout's player: a waveform shows its progress while its track plays.
    root.querySelectorAll(".track-item canvas[data-waveform]").forEach(function (canvas) {
      if (canvas.themeboardDrawn) return;  // a property, not an attribute: history snapshots drop it
      canvas.themeboardDrawn = true;
      attachPlayerWaveform(canvas, canvas.closest("[data-track-src]"), "#ff5c8a");
    });
  }
  // htmx keeps the page's HTML for Back, where a style="" attribute would be refused: setUp sets the
  // colours again when the page comes back.
  listen("tracks:history", "htmx:beforeHistorySave", function () {
    document.querySelectorAll("[data-player-color][style]").forEach(function (element) { element.removeAttribute("style"); });
  });

  // --- collection page: drag-and-drop puts the files in the upload form's input (htmx sends it) --
  function dropzoneOf(event) { return event.target.closest ? event.target.closest("[data-dropzone]") : null; }
  ["dragenter", "dragover"].forEach(function (name) {
    listen("tracks:" + name, name, function (e) {
      var zone = dropzoneOf(e);
      if (zone) { e.preventDefault(); zone.classList.add("dragover"); }
    });
  });
  listen("tracks:dragleave", "dragleave", function (e) { var zone = dropzoneOf(e); if (zone) zone.classList.remove("dragover"); });
  listen("tracks:drop", "drop", function (e) {
    var zone = dropzoneOf(e);
    if (!zone) return;
    e.preventDefault();
    zone.classList.remove("dragover");
    var input = zone.querySelector("input[type=file]");
    input.files = e.dataTransfer.files;
    input.dispatchEvent(new Event("change", {bubbles: true}));
  });
  listen("tracks:keydown", "keydown", function (e) {
    var zone = e.target.matches && e.target.matches("[data-dropzone]") ? e.target : null;
    if (zone && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); zone.querySelector("input[type=file]").click(); }
  });

  // --- edit player: a live preview of the colour and titles (saving is an htmx form) -------------
  listen("tracks:input", "input", function (event) {
    var form = event.target.closest ? event.target.closest("form.track-edit") : null;
    var preview = form && form.querySelector("[data-preview]");
    if (!preview) return;
    preview.style.setProperty("--player", form.player_color.value);
    preview.querySelector(".preview-title").textContent = form.player_title.value || "Untitled";
    preview.querySelector(".preview-subtitle").textContent = form.player_subtitle.value;
  });

  // New content (a page, a refreshed track list) is set up as htmx loads it.
  listen("tracks:load", "htmx:load", function (event) { setUp(event.detail && event.detail.elt || event.target); });
  // Loaded by a boosted navigation, the page may already be in place.
  if (!window.htmx || document.readyState !== "loading") setUp(document);

  // --- embed player ----------------------------------------------------------------------------
  var embed = document.querySelector("[data-embed]");
  if (embed) {
    var audio = embed.querySelector("audio");
    var play = embed.querySelector("[data-play]");
    var time = embed.querySelector("[data-time]");
    var color = embed.dataset.playerColor || "#ff5c8a";
    play.addEventListener("click", function () { if (audio.paused) audio.play(); else audio.pause(); });
    audio.addEventListener("play", function () { play.textContent = "❚❚"; play.setAttribute("aria-label", "Pause"); });
    audio.addEventListener("pause", function () { play.textContent = "▶"; play.setAttribute("aria-label", "Play"); });
    audio.addEventListener("timeupdate", function () { time.textContent = formatTime(audio.currentTime); });
    attachWaveform(embed.querySelector("canvas[data-seek]"), audio, color);
  }
})();
