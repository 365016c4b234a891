// @ts-check
// The field rules of API.md section 4 as forms use them: asked of the browser package, which
// carries workgate_core::validation, the very rules the server applies. Nothing here decides a
// rule; it words the answers for people. A form checks before it sends, so a mistake is shown
// at once, in the form's own card; the server checks again and its 422 shows the same way.

import { isValidName, isValidPasswordLength, namePattern, passwordLength } from "../pkg/workgate_browser.js";

/** The hint under a password field, e.g. "8 to 100 characters." */
export function passwordHint() {
  const { min, max } = passwordLength();
  return `${min} to ${max} characters.`;
}

/** How the name rule reads for people; `namePattern()` is the rule itself. */
export const NAME_HINT = "Lowercase letters, digits, “-” and “_”; not starting with “-” or “_”.";

/**
 * The problem with `value` as a username or workspace name, or null.
 * @param {string} label the field's label, e.g. "Username"
 * @param {string} value
 */
export function nameProblem(label, value) {
  if (isValidName(value)) return null;
  const what = value ? `“${value}” does not match` : "enter a name that matches";
  return `${label}: ${what} ${namePattern()}. ${NAME_HINT}`;
}

/**
 * The problem with `value` as a new password, or null.
 * @param {string} label the field's label, e.g. "Password"
 * @param {string} value
 */
export function passwordProblem(label, value) {
  if (isValidPasswordLength(value)) return null;
  const { min, max } = passwordLength();
  const chars = [...value].length; // characters, as the rule counts them
  return `${label}: ${min} to ${max} characters (this one has ${chars}).`;
}

/**
 * What a form shows when its own checks fail: the same shape as the server's 422
 * (errorBox() lists the items).
 * @param {(string | null)[]} problems one per field, null where the field is fine
 * @returns {{message: string, items: string[]} | null}
 */
export function formProblems(problems) {
  const items = problems.filter((p) => p !== null);
  return items.length ? { message: "Please correct the following:", items } : null;
}
