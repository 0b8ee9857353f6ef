// Tracks pages: uploads through the /v1 flow (create, then PUT to the signed URL), waveforms, embed.
(function () {
  "use strict";
  var csrf = function () { return window.themeboard ? window.themeboard.csrfToken() : ""; };
  // The embed page runs this script without the layout's app.js.
  var listen = window.themeboard && window.themeboard.listen || function (key, type, handler) { document.addEventListener(type, handler); };

  function api(method, url, body) {
    return fetch(url, {
      method: method,
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf(), "Accept": "application/json"},
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        if (!response.ok || json.ok === false) throw new Error(json.message || response.statusText);
        return json;
      });
    });
  }

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
        redraw();
        player.audio.addEventListener("timeupdate", redraw);
        window.themeboard.onLeave(function () { player.audio.removeEventListener("timeupdate", redraw); });
        canvas.addEventListener("click", function (event) {
          var rect = canvas.getBoundingClientRect();
          var ratio = (event.clientX - rect.left) / rect.width;
          if (!player.isCurrent(item)) player.playElement(item);
          player.seekRatio(ratio);
        });
      });
  }

  // Player colours come in data-player-color (the Content-Security-Policy refuses inline styles).
  document.querySelectorAll("[data-player-color]").forEach(function (element) {
    element.style.setProperty("--player", element.dataset.playerColor);
  });
  // htmx keeps the page's HTML for Back, where a style="" attribute would be refused: this script
  // sets the colours again when the page comes back.
  listen("tracks:history", "htmx:beforeHistorySave", function () {
    document.querySelectorAll("[data-player-color][style]").forEach(function (element) { element.removeAttribute("style"); });
  });

  // --- collection list: create -----------------------------------------------------------------
  var createForm = document.querySelector("form[data-tracks-create-collection]");
  if (createForm) {
    createForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var status = createForm.querySelector("[data-status]");
      api("POST", "/v1/collection", {title: createForm.title.value, description: createForm.description.value || null})
        .then(function (body) { location.href = "/collections/" + body.collection_id; })
        .catch(function (error) { status.textContent = error.message; status.classList.add("error"); });
    });
  }

  // --- collection page: uploads ----------------------------------------------------------------
  var dropzone = document.getElementById("dropzone");
  function uploadFile(file) {
    var list = document.getElementById("upload-list");
    var item = document.createElement("li");
    item.className = "upload-item";
    item.innerHTML = '<span class="upload-name"></span><progress max="100" value="0"></progress><span class="upload-message hint">Waiting…</span>';
    item.querySelector(".upload-name").textContent = file.name;
    list.appendChild(item);
    var progress = item.querySelector("progress");
    var message = item.querySelector(".upload-message");
    var fail = function (text) { item.classList.add("failed"); message.textContent = "Failed: " + text; };
    return api("POST", "/v1/track", {collection_id: dropzone.dataset.collection, file_name: file.name, player_title: file.name.replace(/\.[^.]+$/, "")})
      .then(function (created) {
        return new Promise(function (resolve) {
          var request = new XMLHttpRequest();
          request.open(created.track_upload.method, created.track_upload.upload_url);
          request.upload.addEventListener("progress", function (e) {
            if (e.lengthComputable) { progress.value = Math.round(e.loaded / e.total * 100); message.textContent = "Uploading " + progress.value + "%"; }
          });
          request.addEventListener("load", function () {
            var body = {};
            try { body = JSON.parse(request.responseText); } catch (err) { body = {}; }
            if (request.status === 200) {
              progress.value = 100;
              message.textContent = "Uploaded: processing…";
              item.dataset.track = created.track_id;
              waitUntilReady(created.track_id, message).then(resolve);
            } else { fail(body.message || request.statusText); resolve(); }
          });
          request.addEventListener("error", function () { fail("the server could not be reached."); resolve(); });
          request.send(file);
        });
      })
      .catch(function (error) { fail(error.message); });
  }

  function waitUntilReady(trackId, message) {
    return new Promise(function (resolve) {
      var poll = function () {
        api("GET", "/v1/track/" + trackId).then(function (body) {
          var status = body.track.status;
          if (status === "ready") { message.textContent = "Ready"; message.closest("li").dataset.status = "ready"; resolve(); }
          else if (status === "error") { message.textContent = "Failed: " + (body.track.error || "processing failed"); message.closest("li").classList.add("failed"); resolve(); }
          else setTimeout(poll, 400);
        }).catch(function () { setTimeout(poll, 1000); });
      };
      poll();
    });
  }

  if (dropzone) {
    var input = document.getElementById("file-input");
    var handleFiles = function (files) {
      var uploads = Array.prototype.map.call(files, uploadFile);
      Promise.all(uploads).then(function () {
        if (document.querySelectorAll(".upload-item:not(.failed)").length) {
          var note = document.createElement("p");
          note.className = "hint";
          note.innerHTML = 'All done. <a href="">Reload</a> to see the tracks below.';
          dropzone.appendChild(note);
        }
      });
    };
    input.addEventListener("change", function () { handleFiles(input.files); input.value = ""; });
    ["dragenter", "dragover"].forEach(function (name) {
      dropzone.addEventListener(name, function (e) { e.preventDefault(); dropzone.classList.add("dragover"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      dropzone.addEventListener(name, function (e) { e.preventDefault(); dropzone.classList.remove("dragover"); });
    });
    dropzone.addEventListener("drop", function (e) { handleFiles(e.dataTransfer.files); });
    dropzone.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } });
  }

  // --- edit player fields with a live preview; delete ---------------------------------------------
  document.querySelectorAll("form[data-track-edit]").forEach(function (form) {
    var preview = form.querySelector("[data-preview]");
    form.addEventListener("input", function () {
      preview.style.setProperty("--player", form.player_color.value);
      preview.querySelector(".preview-title").textContent = form.player_title.value || "Untitled";
      preview.querySelector(".preview-subtitle").textContent = form.player_subtitle.value;
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var status = form.querySelector("[data-status]");
      api("PUT", "/v1/track/" + form.dataset.trackEdit, {
        player_title: form.player_title.value || null,
        player_subtitle: form.player_subtitle.value || null,
        player_color: form.player_color.value,
      }).then(function () { status.textContent = "Saved."; })
        .catch(function (error) { status.textContent = error.message; });
    });
  });
  listen("tracks:delete", "click", function (event) {
    var button = event.target.closest("[data-track-delete]");
    if (!button) return;
    if (!confirm("Delete the track “" + button.dataset.name + "” and its files? This cannot be undone.")) return;
    api("DELETE", button.dataset.deleteUrl).then(function () {
      button.closest("li").remove();
    }).catch(function (error) { alert(error.message); });
  });

  // Collection rows play in the layout's player: a waveform shows its progress while its track plays.
  document.querySelectorAll(".track-item canvas[data-waveform]").forEach(function (canvas) {
    attachPlayerWaveform(canvas, canvas.closest("[data-track-src]"), "#ff5c8a");
  });

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
