// The one player in the layout (#player, kept by hx-preserve across boosted navigation), its queue,
// the Media Session (lock screen, headset keys) and keyboard shortcuts. Loaded once, in <head>.
//
// Any page makes things playable with data attributes, no script of its own:
//   an element with data-track-src (and data-track-title, optional data-track-subtitle) is a track;
//   a [data-play] button inside it plays it, queueing the tracks of its [data-play-queue] from there;
//   a [data-play-all="#selector"] button plays that queue from the start (data-shuffle: shuffled).
(function () {
  "use strict";
  var SEEK_STEP = 5;
  var root, audio, queue = [], index = -1;

  // Same rounding as the pages' duration filter (round to the second), so both say the same.
  function formatTime(seconds) {
    if (!isFinite(seconds) || seconds < 0) seconds = 0;
    var total = Math.round(seconds);
    return Math.floor(total / 60) + ":" + String(total % 60).padStart(2, "0");
  }

  function part(name) { return root.querySelector("[data-player-" + name + "]"); }

  function trackOf(el) {
    return {
      src: el.dataset.trackSrc,
      title: el.dataset.trackTitle || el.dataset.trackSrc,
      subtitle: el.dataset.trackSubtitle || "",
    };
  }

  function queueOf(el) {
    var container = el.closest("[data-play-queue]");
    if (!container) return [el];
    return Array.prototype.slice.call(container.querySelectorAll("[data-track-src]"));
  }

  function current() { return index >= 0 ? queue[index] : null; }

  function isCurrent(el) {
    var track = current();
    return !!(track && el && el.dataset.trackSrc === track.src);
  }

  function play(position) {
    if (position < 0 || position >= queue.length) return;
    index = position;
    audio.src = queue[index].src;
    audio.play().catch(function () {});
    render();
  }

  function playQueue(tracks, start) {
    queue = tracks;
    play(start || 0);
  }

  function playElement(el) {
    var items = queueOf(el);
    playQueue(items.map(trackOf), Math.max(0, items.indexOf(el)));
  }

  function toggle() {
    if (!current()) {
      var first = document.querySelector("#main [data-track-src]");
      if (first) playElement(first);
      return;
    }
    if (audio.paused) audio.play().catch(function () {}); else audio.pause();
  }

  function next() { if (index + 1 < queue.length) play(index + 1); }

  function previous() {
    // Like most players: back to the start first, to the previous track when already near it.
    if (audio.currentTime > 3 || index <= 0) audio.currentTime = 0;
    else play(index - 1);
  }

  function seekTo(seconds) {
    if (!current() || !isFinite(audio.duration)) return;
    audio.currentTime = Math.min(Math.max(0, seconds), audio.duration);
  }

  function seekRatio(ratio) {
    var apply = function () { seekTo(ratio * audio.duration); };
    if (audio.readyState >= 1) apply(); else audio.addEventListener("loadedmetadata", apply, {once: true});
  }

  function shuffled(items) {
    items = items.slice();
    for (var i = items.length - 1; i > 0; i--) {
      var j = Math.floor(Math.random() * (i + 1));
      var t = items[i]; items[i] = items[j]; items[j] = t;
    }
    return items;
  }

  // --- what the page shows ---------------------------------------------------------------------
  function render() {
    var track = current();
    root.toggleAttribute("data-player-idle", !track);
    part("title").textContent = track ? track.title : "Nothing playing";
    part("subtitle").textContent = track ? track.subtitle : "";
    var playing = track && !audio.paused;
    var button = root.querySelector('[data-player-action="toggle"]');
    button.textContent = playing ? "❚❚" : "▶";
    button.setAttribute("aria-label", playing ? "Pause" : "Play");
    root.querySelector('[data-player-action="previous"]').disabled = !track;
    root.querySelector('[data-player-action="next"]').disabled = !track || index + 1 >= queue.length;
    part("seek").disabled = !track;
    part("queue-count").textContent = queue.length;
    var list = root.querySelector("#player-queue");
    list.replaceChildren.apply(list, queue.map(function (item, i) {
      var li = document.createElement("li");
      var jump = document.createElement("button");
      jump.type = "button";
      jump.className = "link-button";
      jump.dataset.playerJump = i;
      jump.textContent = item.title;
      if (i === index) li.setAttribute("aria-current", "true");
      li.appendChild(jump);
      return li;
    }));
    markRows(document);
    updateMediaSession();
  }

  function renderTime() {
    var duration = isFinite(audio.duration) ? audio.duration : 0;
    var seek = part("seek");
    seek.max = duration;
    seek.value = audio.currentTime;
    seek.setAttribute("aria-valuetext", formatTime(audio.currentTime) + " of " + formatTime(duration));
    part("elapsed").textContent = formatTime(audio.currentTime);
    part("duration").textContent = formatTime(duration);
    if ("mediaSession" in navigator && navigator.mediaSession.setPositionState && duration) {
      try { navigator.mediaSession.setPositionState({duration: duration, position: Math.min(audio.currentTime, duration), playbackRate: audio.playbackRate}); } catch (err) { /* an unready element */ }
    }
  }

  // Rows of the current track say so, on this page and on pages that arrive later.
  function markRows(scope) {
    var playing = current() && !audio.paused;
    scope.querySelectorAll("[data-track-src]").forEach(function (el) {
      var mine = isCurrent(el);
      el.classList.toggle("is-current", mine);
      var button = el.querySelector("[data-play]");
      if (!button) return;
      button.setAttribute("aria-pressed", mine && playing ? "true" : "false");
      if (button.classList.contains("play-button")) button.textContent = mine && playing ? "❚❚" : "▶";
    });
  }

  function updateMediaSession() {
    if (!("mediaSession" in navigator)) return;
    var track = current();
    if (track && window.MediaMetadata) {
      navigator.mediaSession.metadata = new MediaMetadata({title: track.title, artist: track.subtitle || "Themeboard", album: "Themeboard"});
    }
    navigator.mediaSession.playbackState = track ? (audio.paused ? "paused" : "playing") : "none";
  }

  function setUpMediaSession() {
    if (!("mediaSession" in navigator)) return;
    var handlers = {
      play: function () { audio.play().catch(function () {}); },
      pause: function () { audio.pause(); },
      stop: function () { audio.pause(); audio.currentTime = 0; },
      previoustrack: previous,
      nexttrack: next,
      seekbackward: function (details) { seekTo(audio.currentTime - (details.seekOffset || SEEK_STEP)); },
      seekforward: function (details) { seekTo(audio.currentTime + (details.seekOffset || SEEK_STEP)); },
      seekto: function (details) { seekTo(details.seekTime); },
    };
    Object.keys(handlers).forEach(function (action) {
      try { navigator.mediaSession.setActionHandler(action, handlers[action]); } catch (err) { /* not supported here */ }
    });
  }

  // --- input -------------------------------------------------------------------------------------
  function onClick(event) {
    var action = event.target.closest("[data-player-action]");
    if (action && root.contains(action)) {
      var name = action.dataset.playerAction;
      if (name === "toggle") toggle();
      else if (name === "next") next();
      else if (name === "previous") previous();
      else if (name === "queue") {
        var list = root.querySelector("#player-queue");
        list.hidden = !list.hidden;
        action.setAttribute("aria-expanded", String(!list.hidden));
      } else if (name === "help") root.querySelector("#player-help").showModal();
      else if (name === "close-help") root.querySelector("#player-help").close();
      return;
    }
    var jump = event.target.closest("[data-player-jump]");
    if (jump && root.contains(jump)) { play(parseInt(jump.dataset.playerJump, 10)); return; }
    var all = event.target.closest("[data-play-all]");
    if (all) {
      var container = document.querySelector(all.dataset.playAll) || all.closest("[data-play-queue]");
      if (!container) return;
      var tracks = Array.prototype.slice.call(container.querySelectorAll("[data-track-src]")).map(trackOf);
      playQueue(all.hasAttribute("data-shuffle") ? shuffled(tracks) : tracks, 0);
      return;
    }
    var button = event.target.closest("[data-play]");
    if (!button) return;
    var item = button.closest("[data-track-src]");
    if (!item) return;
    if (isCurrent(item)) toggle(); else playElement(item);
  }

  function typing(target) {
    return target.closest && target.closest("input, textarea, select, [contenteditable]:not([contenteditable=false]), dialog[open]");
  }

  function onKeydown(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (document.querySelector("#main [data-page-shortcuts]")) return;  // the soundboard's keys are its own
    var key = event.key;
    if (key === "?") { root.querySelector("#player-help").showModal(); event.preventDefault(); return; }
    if (!current()) return;  // nothing loaded: the keys keep their usual meaning (space scrolls)
    if (key === " " && event.target.closest("button, a, summary, [role=button]")) return;  // space presses buttons
    var handled = true;
    if (key === " " || key === "k") toggle();
    else if (key === "j" || key === "ArrowLeft") seekTo(audio.currentTime - SEEK_STEP);
    else if (key === "l" || key === "ArrowRight") seekTo(audio.currentTime + SEEK_STEP);
    else if (key === "n" || key === "N") next();
    else if (key === "p" || key === "P") previous();
    else if (key === "m") audio.muted = !audio.muted;
    else handled = false;
    if (handled) event.preventDefault();
  }

  function init() {
    root = document.getElementById("player");
    if (!root || root.dataset.ready) return;
    root.dataset.ready = "true";
    audio = root.querySelector("audio");
    var volume = part("volume");
    var saved = parseFloat(localStorage.getItem("themeboard.volume"));
    if (saved >= 0 && saved <= 1) { audio.volume = saved; volume.value = saved; }
    volume.addEventListener("input", function () {
      audio.volume = parseFloat(volume.value);
      audio.muted = false;
      localStorage.setItem("themeboard.volume", volume.value);
    });
    part("seek").addEventListener("input", function (event) { seekTo(parseFloat(event.target.value)); });
    ["play", "pause", "ended"].forEach(function (name) { audio.addEventListener(name, render); });
    ["timeupdate", "durationchange", "loadedmetadata", "seeked"].forEach(function (name) { audio.addEventListener(name, renderTime); });
    audio.addEventListener("ended", function () { if (index + 1 < queue.length) play(index + 1); });
    audio.addEventListener("volumechange", function () { root.classList.toggle("is-muted", audio.muted); });
    // A page's own media (an admin's sound preview) and this player never play over each other.
    document.addEventListener("play", function (event) {
      if (event.target === audio) document.querySelectorAll("audio, video").forEach(function (other) { if (other !== audio) other.pause(); });
      else audio.pause();
    }, true);
    document.addEventListener("click", onClick);
    document.addEventListener("keydown", onKeydown);
    // Content that arrives later (boosted pages, search results, Back) shows which row is playing.
    document.addEventListener("htmx:load", function (event) { markRows(event.target.parentNode || document); });
    setUpMediaSession();
    render();
    renderTime();
  }

  window.themeboard = window.themeboard || {};
  window.themeboard.player = {
    get audio() { return audio; },
    playQueue: playQueue,
    playElement: playElement,
    isCurrent: isCurrent,
    seekRatio: seekRatio,
    toggle: toggle,
    next: next,
    previous: previous,
    queue: function () { return queue.slice(); },
    current: current,
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
