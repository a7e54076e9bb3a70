// The pages a mail link opens. The token travels in the URL fragment,
// which the browser never sends to a server; the page takes it, clears it
// from the address bar and history, and spends it only when the person
// presses the button: mail scanners that open links change nothing.
"use strict";

(function () {
  const page = document.body.dataset.page;
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("token") || "";
  history.replaceState(null, "", location.pathname + location.search);

  const form = document.getElementById("form");
  const status = document.getElementById("status");
  const submit = document.getElementById("submit");

  function show(text, kind) {
    status.textContent = text;
    status.className = kind;
  }

  if (!token) {
    form.hidden = true;
    show("This link has no token. Open the link from the message exactly as it came.", "error");
    return;
  }

  const api = {
    verify: { path: "/api/v1/auth/email/verify", body: () => ({ token }), done: "Your email address is confirmed. You can close this page." },
    recover: {
      path: "/api/v1/auth/recovery/confirm",
      body: () => ({ token, new_password: document.getElementById("password").value }),
      done: "Your new password is set. Log in with it.",
    },
  }[page];

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (page === "recover" && document.getElementById("password").value !== document.getElementById("again").value) {
      show("The two passwords differ.", "error");
      return;
    }
    submit.disabled = true;
    show("…", "");
    try {
      const r = await fetch(api.path, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(api.body()),
      });
      if (r.ok) {
        form.hidden = true;
        show(api.done, "ok");
        return;
      }
      let detail = "Something went wrong (" + r.status + "). Try again later.";
      try {
        const problem = await r.json();
        if (problem.errors && problem.errors.length) {
          detail = problem.errors.map((e) => e.message).join(" ");
        } else if (problem.detail) {
          detail = problem.detail.charAt(0).toUpperCase() + problem.detail.slice(1) + ".";
        }
      } catch (_) { /* not a problem document */ }
      show(detail, "error");
      submit.disabled = false;
    } catch (_) {
      show("The service cannot be reached. Try again in a moment.", "error");
      submit.disabled = false;
    }
  });
})();
