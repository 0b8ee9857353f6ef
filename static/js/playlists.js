// Playlist page: owners reorder tracks by drag and drop or with the arrow buttons, through the JSON API
// (each row's data-move-url). Playing goes through the layout's player; removing is an htmx fragment.
(function () {
  "use strict";
  var list = document.getElementById("playlist-tracks");
  if (!list || !list.querySelector("[data-move-url]")) return;

  function items() { return Array.prototype.slice.call(list.querySelectorAll(".playlist-track:not(.removed)")); }
  function trackId(el) { return el ? parseInt(el.dataset.trackId, 10) : null; }
  function sibling(item, direction) {
    var el = item[direction];
    while (el && el.classList.contains("removed")) el = el[direction];
    return el;
  }

  // Tell the server where a track now sits: after its new previous sibling, or before its next one.
  function persistMove(item) {
    var previous = sibling(item, "previousElementSibling"), next = sibling(item, "nextElementSibling");
    var body = previous ? {previous: trackId(previous)} : {next: trackId(next)};
    return fetch(item.dataset.moveUrl, {
      method: "PATCH",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": window.themeboard.csrfToken()},
      body: JSON.stringify(body),
    }).then(function (r) {
      if (!r.ok) return r.json().catch(function () { return {}; }).then(function (json) { throw new Error(json.message || r.statusText); });
    }).catch(function (error) { alert("Could not move the track: " + error.message); location.reload(); });
  }

  list.addEventListener("click", function (event) {
    var move = event.target.closest("[data-move]");
    if (!move) return;
    var item = move.closest(".playlist-track");
    var previous = sibling(item, "previousElementSibling"), next = sibling(item, "nextElementSibling");
    if (move.dataset.move === "up" && previous) list.insertBefore(item, previous);
    else if (move.dataset.move === "down" && next) list.insertBefore(next, item);
    else return;
    move.focus();
    persistMove(item);
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
})();
