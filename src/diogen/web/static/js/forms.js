// Small form helpers for the administration page: submit, report the outcome, redraw.
import {forgetCatalog} from "./catalog.js";
import {h} from "./dom.js";

export function redraw() {
  forgetCatalog();
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}

/** A form that runs `action(form)` on submit, then shows its message or error. */
export function actionForm(label, fields, action, {keepOpen = false} = {}) {
  const status = h("p", {role: "status", class: "muted"});
  const submit = async (event) => {
    event.preventDefault();
    const form = event.target;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    status.className = "muted";
    try {
      const message = await action(form);
      status.textContent = message || "Done.";
      if (!keepOpen) setTimeout(redraw, 600);
    } catch (error) {
      status.className = "error";
      status.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  };
  return h("form", {class: "row", onsubmit: submit, "aria-label": label},
    fields, h("button", {type: "submit"}, label), status);
}

export function input(label, name, attrs = {}) {
  return h("label", {}, label, h("input", {name, ...attrs}));
}

export function select(label, name, options, attrs = {}) {
  return h("label", {}, label, h("select", {name, ...attrs},
    options.map(([value, text]) => h("option", {value}, text))));
}

/** A button that does one thing (revoke, end, unmerge) and redraws. */
export function actionButton(text, action, attrs = {}) {
  return h("button", {type: "button", class: "ghost", ...attrs, onclick: async (event) => {
    const button = event.target;
    button.disabled = true;
    try {
      await action();
      redraw();
    } catch (error) {
      button.disabled = false;
      button.after(h("span", {class: "error", role: "alert"}, ` ${error.message}`));
    }
  }}, text);
}
