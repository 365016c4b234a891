// The API client's error messages, from the error envelope of API.md section 2.
import { test } from "node:test";
import assert from "node:assert/strict";
import { errorFromResponse } from "../js/api.js";

const envelope = (klass, params) => ({ detail: { code: `argilla.api.errors::${klass}`, params } });

test("401, 403 and 400 show the server's sentence", () => {
  assert.equal(errorFromResponse(401, envelope("UnauthorizedError", { detail: "Could not validate credentials" })).message, "Could not validate credentials");
  const last = "The last admin cannot be deleted";
  assert.equal(errorFromResponse(403, envelope("ForbiddenOperationError", { detail: last })).message, last);
  assert.equal(errorFromResponse(400, envelope("BadRequestError", { message: "Current password is incorrect" })).message, "Current password is incorrect");
});

test("404 and 409 name the entity", () => {
  assert.equal(errorFromResponse(404, envelope("EntityNotFoundError", { name: "team", type: "Workspace" })).message, "Workspace “team” was not found.");
  assert.equal(errorFromResponse(409, envelope("EntityAlreadyExistsError", { name: "ann", type: "User" })).message, "User “ann” already exists.");
});

test("422 lists every failing field", () => {
  const e = errorFromResponse(422, envelope("ValidationError", { model: "Request", errors: [
    { loc: ["body", "username"], msg: "string does not match regex", type: "value_error.str.regex" },
    { loc: ["body", "password"], msg: "ensure this value has at least 8 characters", type: "value_error.any_str.min_length" },
    { loc: ["query", "limit"], msg: "bad", type: "x" },
  ] }));
  assert.equal(e.message, "Please correct the following:");
  assert.deepEqual(e.items, ["Username: string does not match regex", "Password: ensure this value has at least 8 characters", "limit: bad"]);
});

test("429 says how long to wait", () => {
  const e = errorFromResponse(429, envelope("TooManyRequestsError", { detail: "Too many failed login attempts; try again later", retry_after: 30 }));
  assert.equal(e.retryAfter, 30);
  assert.match(e.message, /Try again in 30 seconds\./);
  const one = errorFromResponse(429, envelope("TooManyRequestsError", {}), new Headers({ "Retry-After": "1" }));
  assert.match(one.message, /Try again in 1 second\./);
});

test("bare details, odd bodies and no body", () => {
  assert.equal(errorFromResponse(405, { detail: "Method Not Allowed" }).message, "Method Not Allowed");
  assert.equal(errorFromResponse(500, envelope("GenericServerError", { type: "x", message: "store unavailable" })).message, "store unavailable");
  assert.match(errorFromResponse(502, null).message, /502/);
  assert.match(errorFromResponse(500, { detail: { params: 5 } }).message, /500/);
});
