// Tracks pages: drag-and-drop onto the upload form, waveforms, the player preview, the embed player.
// Uploads, saves and deletes are htmx forms answered by tracks' HTML views.
(function () {
  "use strict";
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

  // Runs once per document, however often boosted navigation re-runs this file: listeners are
  // delegated, and new content (a page, a refreshed track list) is set up through htmx.onLoad.
  if (window.themeboardTracks) return;
  window.themeboardTracks = true;

  function setUp(root) {
    // Player colours come in data-player-color (the Content-Security-Policy refuses inline styles).
    root.querySelectorAll("[data-player-color]").forEach(function (element) {
      element.style.setProperty("--player", element.dataset.playerColor);
    });
    root.querySelectorAll(".track-item canvas[data-waveform]").forEach(function (canvas) {
      if (canvas.themeboardDrawn) return;  // a property, not an attribute: history snapshots drop it
      canvas.themeboardDrawn = true;
      attachWaveform(canvas, canvas.parentElement.querySelector("audio"), "#ff5c8a");
    });
  }

  // --- collection page: drag-and-drop puts the files in the upload form's input (htmx sends it) --
  function dropzoneOf(event) { return event.target.closest ? event.target.closest("[data-dropzone]") : null; }
  ["dragenter", "dragover"].forEach(function (name) {
    document.addEventListener(name, function (e) {
      var zone = dropzoneOf(e);
      if (zone) { e.preventDefault(); zone.classList.add("dragover"); }
    });
  });
  document.addEventListener("dragleave", function (e) { var zone = dropzoneOf(e); if (zone) zone.classList.remove("dragover"); });
  document.addEventListener("drop", function (e) {
    var zone = dropzoneOf(e);
    if (!zone) return;
    e.preventDefault();
    zone.classList.remove("dragover");
    var input = zone.querySelector("input[type=file]");
    input.files = e.dataTransfer.files;
    input.dispatchEvent(new Event("change", {bubbles: true}));
  });
  document.addEventListener("keydown", function (e) {
    var zone = e.target.matches && e.target.matches("[data-dropzone]") ? e.target : null;
    if (zone && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); zone.querySelector("input[type=file]").click(); }
  });

  // --- edit player: a live preview of the colour and titles (saving is an htmx form) -------------
  document.addEventListener("input", function (event) {
    var form = event.target.closest ? event.target.closest("form.track-edit") : null;
    var preview = form && form.querySelector("[data-preview]");
    if (!preview) return;
    preview.style.setProperty("--player", form.player_color.value);
    preview.querySelector(".preview-title").textContent = form.player_title.value || "Untitled";
    preview.querySelector(".preview-subtitle").textContent = form.player_subtitle.value;
  });

  if (window.htmx) htmx.onLoad(setUp);
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
