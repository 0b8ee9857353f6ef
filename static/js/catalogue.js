// Catalogue pages: one player at a time (uploads are htmx forms: templates/catalogue/_admin_list.html).
(function () {
  "use strict";

  // Starting one audio element pauses the others, so rows never play over each other.
  document.addEventListener("play", function (event) {
    document.querySelectorAll("audio").forEach(function (other) {
      if (other !== event.target) other.pause();
    });
  }, true);
})();
