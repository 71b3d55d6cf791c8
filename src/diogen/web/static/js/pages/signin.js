// Sign in with a Diogen user (the API's users; `diogen user create` makes the first one).
import {signIn} from "../api.js";
import {h} from "../dom.js";

export function render(onSignedIn) {
  const message = h("p", {class: "error", role: "alert"});
  const submit = async (event) => {
    event.preventDefault();
    const form = event.target;
    const button = form.querySelector("button");
    button.disabled = true;
    message.textContent = "";
    try {
      await signIn(form.email.value.trim(), form.password.value);
      onSignedIn();
    } catch (error) {
      message.textContent = error.status === 401
        ? "Wrong email or password, or the user is disabled."
        : `Could not sign in: ${error.message}`;
      button.disabled = false;
      form.password.focus();
    }
  };
  return h("section", {class: "panel signin"},
    h("h1", {}, "Sign in to Diogen"),
    h("form", {onsubmit: submit},
      h("label", {}, "Email", h("input", {name: "email", type: "email", autocomplete: "username",
        required: true, autofocus: true})),
      h("label", {}, "Password", h("input", {name: "password", type: "password",
        autocomplete: "current-password", required: true})),
      h("button", {type: "submit"}, "Sign in"),
      message),
    h("p", {class: "muted"}, "No user yet? Create one on the server with ",
      h("code", {}, "diogen users create-admin EMAIL"), "."));
}
