// Playlist page: play in order (next, previous, shuffle, repeat, auto-advance); owners reorder by
// drag and drop or with the arrow buttons, and remove tracks with undo. Writes use the JSON API.
(function () {
  "use strict";
  var player = document.getElementById("player");
  var list = document.getElementById("playlist-tracks");

  // "New playlist…" in any add-to-playlist control shows the name box.
  document.addEventListener("change", function (event) {
    var select = event.target.closest("select[data-new-playlist]");
    if (!select) return;
    var input = select.form.querySelector("input[name=new_name]");
    input.hidden = select.value !== "__new__";
    if (!input.hidden) input.focus();
  });

  if (!player) return;
  var hashid = player.dataset.hashid;
  var audio = document.getElementById("playlist-audio");
  var nowPlaying = document.getElementById("now-playing");
  var shuffle = document.getElementById("shuffle");
  var repeat = document.getElementById("repeat");
  var current = -1;
  var order = [];

  function items() { return list ? Array.prototype.slice.call(list.querySelectorAll(".playlist-track")) : []; }

  function buildOrder() {
    order = items().map(function (_, i) { return i; });
    if (shuffle.checked) {
      for (var i = order.length - 1; i > 0; i--) {
        var j = Math.floor(Math.random() * (i + 1));
        var t = order[i]; order[i] = order[j]; order[j] = t;
      }
    }
  }

  function playAt(position) {
    var all = items();
    if (!all.length) return;
    if (position < 0 || position >= order.length) {
      if (!repeat.checked) { audio.pause(); return; }
      position = (position + order.length) % order.length;
    }
    current = position;
    var item = all[order[position]];
    all.forEach(function (el) { el.classList.remove("playing"); });
    item.classList.add("playing");
    audio.src = item.dataset.src;
    nowPlaying.textContent = item.dataset.title;
    player.dataset.current = item.dataset.trackId;
    audio.play().catch(function () {});
  }

  player.addEventListener("click", function (event) {
    var button = event.target.closest("[data-action]");
    if (!button) return;
    if (!order.length) buildOrder();
    if (button.dataset.action === "play") { buildOrder(); playAt(0); }
    if (button.dataset.action === "next") playAt(current + 1);
    if (button.dataset.action === "previous") playAt(Math.max(0, current - 1));
  });
  shuffle.addEventListener("change", buildOrder);
  // Continue to the next track by itself.
  audio.addEventListener("ended", function () { playAt(current + 1); });

  if (!list) return;
  list.addEventListener("click", function (event) {
    var title = event.target.closest("[data-play-index]");
    if (!title) return;
    buildOrder();
    var index = items().indexOf(title.closest(".playlist-track"));
    playAt(order.indexOf(index));
  });

  if (player.dataset.owner !== "true") return;

  function api(method, path, body) {
    return fetch("/api/playlist/" + hashid + "/track" + path, {
      method: method,
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": window.themeboard.csrfToken()},
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (r) { return r.json().then(function (json) { if (!r.ok) throw new Error(json.message || r.statusText); return json; }); });
  }

  function trackId(el) { return el ? parseInt(el.dataset.trackId, 10) : null; }

  // Tell the server where a track now sits: after its new previous sibling, or before its next one.
  function persistMove(item) {
    var previous = item.previousElementSibling, next = item.nextElementSibling;
    var body = previous ? {previous: trackId(previous)} : {next: trackId(next)};
    return api("PATCH", "/" + trackId(item), body).catch(function (error) { alert("Could not move the track: " + error.message); location.reload(); });
  }

  list.addEventListener("click", function (event) {
    var move = event.target.closest("[data-move]");
    if (move) {
      var item = move.closest(".playlist-track");
      if (move.dataset.move === "up" && item.previousElementSibling) list.insertBefore(item, item.previousElementSibling);
      else if (move.dataset.move === "down" && item.nextElementSibling) list.insertBefore(item.nextElementSibling, item);
      else return;
      move.focus();
      persistMove(item);
      return;
    }
    var remove = event.target.closest("[data-remove]");
    if (remove) removeWithUndo(remove.closest(".playlist-track"));
  });

  var dragged = null;
  list.addEventListener("dragstart", function (event) {
    dragged = event.target.closest(".playlist-track");
    if (!dragged) return;
    dragged.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.trackId);
  });
  list.addEventListener("dragover", function (event) {
    var over = event.target.closest(".playlist-track");
    if (!dragged || !over) return;
    event.preventDefault();
    items().forEach(function (el) { el.classList.remove("drop-target"); });
    if (over !== dragged) over.classList.add("drop-target");
  });
  list.addEventListener("drop", function (event) {
    var over = event.target.closest(".playlist-track");
    event.preventDefault();
    items().forEach(function (el) { el.classList.remove("drop-target"); });
    if (!dragged || !over || over === dragged) return;
    var all = items();
    if (all.indexOf(dragged) < all.indexOf(over)) list.insertBefore(dragged, over.nextElementSibling);
    else list.insertBefore(dragged, over);
    persistMove(dragged);
  });
  list.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
  });

  var undoBar = document.getElementById("undo-bar");
  var undoText = document.getElementById("undo-text");
  var undoButton = document.getElementById("undo-button");
  var pendingUndo = null;

  function removeWithUndo(item) {
    var previous = item.previousElementSibling, next = item.nextElementSibling;
    api("DELETE", "/" + trackId(item)).then(function () {
      item.remove();
      undoText.textContent = "Removed " + item.dataset.title + ".";
      undoBar.hidden = false;
      pendingUndo = function () {
        var placement = previous && previous.isConnected ? {previous: trackId(previous)} : (next && next.isConnected ? {next: trackId(next)} : {});
        return api("POST", "", Object.assign({audio_id: parseInt(item.dataset.audioId, 10)}, placement)).then(function (created) {
          item.dataset.trackId = created.track.track_id;
          if (previous && previous.isConnected) list.insertBefore(item, previous.nextElementSibling);
          else if (next && next.isConnected) list.insertBefore(item, next);
          else list.appendChild(item);
        });
      };
      clearTimeout(removeWithUndo.timer);
      removeWithUndo.timer = setTimeout(function () { undoBar.hidden = true; pendingUndo = null; }, 8000);
    }).catch(function (error) { alert("Could not remove the track: " + error.message); });
  }
  undoButton.addEventListener("click", function () {
    if (!pendingUndo) return;
    var undo = pendingUndo;
    pendingUndo = null;
    undoBar.hidden = true;
    undo();
  });
})();
