// Catalogue pages: uploads with a progress bar (playing goes through the player in the layout).
(function () {
  "use strict";

  // <form data-upload data-api="/api/audio">: send with XHR so the progress bar can move.
  window.themeboard.listen("catalogue:upload", "submit", function (event) {
    var form = event.target.closest("form[data-upload]");
    if (!form) return;
    event.preventDefault();
    var progress = form.querySelector("progress");
    var status = form.querySelector("[data-status]");
    var request = new XMLHttpRequest();
    request.open("POST", form.getAttribute("data-api"));
    request.setRequestHeader("X-CSRFToken", window.themeboard.csrfToken());
    request.setRequestHeader("Accept", "application/json");
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        progress.value = Math.round((e.loaded / e.total) * 100);
        status.textContent = "Uploading… " + progress.value + "%";
      }
    });
    request.addEventListener("load", function () {
      var body = {};
      try { body = JSON.parse(request.responseText); } catch (err) { body = {}; }
      if (request.status >= 200 && request.status < 300) {
        progress.value = 100;
        status.textContent = "Uploaded. Reloading…";
        window.location.reload();
      } else {
        var details = body.errors ? Object.values(body.errors).flat().join(" ") : "";
        status.textContent = "Upload failed: " + (details || body.message || request.statusText);
        status.classList.add("error");
      }
    });
    request.addEventListener("error", function () {
      status.textContent = "Upload failed: the server could not be reached.";
      status.classList.add("error");
    });
    status.classList.remove("error");
    request.send(new FormData(form));
  });
})();
