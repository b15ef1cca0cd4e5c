// Package server is pointsync's web server, run inside `pointsync run`:
// the versioned JSON API under /api/v1 (balance, movements, quote,
// reservations for the checkout, prizes, and the admin routes), the admin
// web UI (server-rendered, templates and assets embedded), /healthz,
// /readyz and /metrics.
//
// Every route but /healthz asks for a bearer token (the UI logs in with an
// admin token and then uses a session cookie). Tokens carry scopes, each
// including the ones before it: read looks, redeem also reserves points
// and redeems prizes at a checkout, admin does everything. Errors are JSON
// objects with a stable code, a message and the field at fault.
package server
