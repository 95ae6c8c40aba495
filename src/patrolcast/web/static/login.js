import { api, refusal, setCsrf } from "./common.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");
document.getElementById("username").focus();
form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  error.textContent = "";
  const totp = document.getElementById("totp").value.trim();
  try {
    const out = await api("POST", "/api/auth/login", {
      username: document.getElementById("username").value.trim(),
      password: document.getElementById("password").value,
      totp: totp || null,
    });
    setCsrf(out.csrf_token);
    const next = new URLSearchParams(location.search).get("next") || "/map";
    location.assign(next.startsWith("/") && !next.startsWith("//") ? next : "/map");
  } catch (err) {
    error.textContent = refusal(err);
  }
});
