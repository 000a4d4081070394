// Tessera: auto-submit the OAuth 2.0 Form Post Response Mode form.
(function () {
  "use strict";
  function submit() {
    var form = document.getElementById("form-post");
    if (form) {
      form.submit();
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", submit);
  } else {
    submit();
  }
})();
